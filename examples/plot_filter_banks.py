"""
The filter banks, in space and in frequency
===========================================

Every bank of :mod:`featpool.filters` on a 64x64 grid: each filter's
convolution kernel (real part, centred, cropped to the bank's reach) above
the modulus of its spectrum (frequency 0 at the centre). A Gabor filter is
one blob in frequency, at the frequency and orientation it responds to;
the Leung–Malik, RFS and Schmid banks, built from spatial kernels, cover
the plane with derivatives of Gaussians; LoG and DoG are isotropic rings.
"""
import matplotlib.pyplot as plt

import featpool
from featpool.plotting import plot_bank

SHAPE = (64, 64)

# %%
# Gabor (the default of :class:`~featpool.FilterBankPooling`, with round
# envelopes) and Morlet, 3 scales x 6 orientations. A row of kernels above a
# row of spectra per scale: each scale is an octave lower than the one
# above it.
for builder in (featpool.gabor_bank, featpool.morlet_bank):
    bank = builder(SHAPE, n_scales=3, n_orientations=6, aspect_ratio=1.0)
    fig, axes = plot_bank(bank, crop=16)
    fig.suptitle(f"{builder.__name__}: {len(bank)} filters")

# %%
# The classic texture banks: Leung–Malik (48 filters: first and second
# derivatives of elongated Gaussians at 3 scales x 6 orientations, 8 LoG, 4
# Gaussians), RFS (38: the maximum over each row's orientations gives MR8)
# and Schmid (13 isotropic Gabor-like rings). Only one orientation per
# derivative and scale is drawn here.
leung_malik = featpool.leung_malik_bank((49, 49))
first_of_each = [i for i, m in enumerate(leung_malik.metadata)
                 if m.get("orientation_index") in (None, 0)]
fig, axes = plot_bank(leung_malik, filters=first_of_each, ncols=6, crop=24)
fig.suptitle("leung_malik_bank: one orientation of each oriented filter")

rfs = featpool.rfs_bank((49, 49))
fig, axes = plot_bank(rfs, filters=[0, 6, 12, 18, 24, 30, 36, 37], ncols=8, crop=24)
fig.suptitle("rfs_bank: the first orientation of each group, then the 2 isotropic filters")

fig, axes = plot_bank(featpool.schmid_bank((49, 49)), ncols=7, crop=24)
fig.suptitle("schmid_bank")

# %%
# Isotropic banks: Laplacians of Gaussians and differences of Gaussians
# at four scales.
for builder in (featpool.log_bank, featpool.dog_bank):
    fig, axes = plot_bank(builder(SHAPE, sigmas=[1.0, 2.0, 4.0, 8.0]), crop=24)
    fig.suptitle(builder.__name__)

# %%
# A 3D Gabor bank: 13 directions spread over the half-sphere per scale; the
# central slice of each kernel and spectrum is drawn.
bank_3d = featpool.gabor_bank_3d((32, 32, 32), n_scales=1)
fig, axes = plot_bank(bank_3d, ncols=13, crop=10)
fig.suptitle("gabor_bank_3d: central slices, one scale")
plt.show()
