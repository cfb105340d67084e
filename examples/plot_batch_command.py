"""
A folder of images to a feature table
=====================================

``featpool extract`` reads a folder of image files (here a mix of grey and
RGB PNG files, RGBA with transparency, a 16-bit TIFF, and one file that is
not an image at all) and writes one row of features per image. Colour images
are turned to grey (``--color gray``), every image gets the same features
whatever its size (a spatial pyramid), and the bad file is listed in an
errors file while every other image is processed.

The command is run here from Python with :func:`featpool.cli.main`, which
takes the same arguments as the shell command. It starts worker processes,
so, as any multiprocessing code, a script that calls it needs the
``if __name__ == "__main__":`` guard.

The plot shows each image and, under it, its feature vector: the textures
of the same kind (the three crops of the brick wall) have similar vectors.
"""
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import tifffile
from PIL import Image
from skimage import data

from featpool.cli import main


def write_images(folder):
    """Some sample images, of several kinds and sizes, as files."""
    brick, grass, camera = data.brick(), data.grass(), data.camera()
    Image.fromarray(brick[:200, :200]).save(folder / "brick_1.png")
    Image.fromarray(brick[200:, 200:]).save(folder / "brick_2.png")
    Image.fromarray(np.stack([brick[:150, 300:]] * 3, axis=-1)).save(folder / "brick_rgb.png")
    Image.fromarray(grass[:256, :256]).save(folder / "grass.png")
    tifffile.imwrite(folder / "grass_16bit.tif", grass[256:, 256:].astype(np.uint16) * 257)
    rgba = np.dstack([data.astronaut()[::2, ::2], np.full((256, 256), 128, np.uint8)])
    Image.fromarray(rgba).save(folder / "astronaut_rgba.png")
    Image.fromarray(camera[::2, ::2]).save(folder / "camera.png")
    (folder / "notes.png").write_text("not an image")


def run():
    work = Path(tempfile.mkdtemp())
    folder = work / "images"
    folder.mkdir()
    write_images(folder)
    out = work / "features.csv"
    status = main(["extract", str(folder), "-o", str(out), "--jobs", "2", "--levels", "1,2",
                   "--shape", "128x128", "--quiet"])
    print("exit status:", status, "(1: some image failed)")
    print(pd.read_csv(work / "features.csv.errors.csv").to_string(index=False))
    return folder, pd.read_csv(out)


if __name__ == "__main__":
    folder, table = run()
    features = table.drop(columns=["path", "shape"]).to_numpy()
    print(table[["path", "shape"]].to_string(index=False))
    print(features.shape[1], "features per image")

    fig, axes = plt.subplots(2, len(table), figsize=(2 * len(table), 4),
                             gridspec_kw={"height_ratios": [2, 1]})
    for i, row in table.iterrows():
        from featpool.io import read_image
        axes[0, i].imshow(read_image(folder / row["path"]), cmap="gray")
        axes[0, i].set_title(f"{row['path']}\n{row['shape']}", fontsize=7)
        axes[0, i].axis("off")
        axes[1, i].plot(features[i], lw=0.5)
        axes[1, i].set_yticks([])
        axes[1, i].set_xticks([])
    axes[1, 0].set_ylabel("features")
    fig.tight_layout()
    plt.show()
