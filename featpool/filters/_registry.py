"""The one registry of bank builders, by name and number of dimensions."""
from .classic import dog_bank, leung_malik_bank, log_bank, rfs_bank, schmid_bank
from .gabor import gabor_bank, gabor_bank_3d, morlet_bank, morlet_bank_3d
from .learned import learn_patch_filters

#: Builders per bank name, then per number of spatial dimensions. 'learned'
#: learns its filters from images (:func:`learn_patch_filters`); the others
#: build a bank for a grid shape.
BANKS = {
    "gabor": {2: gabor_bank, 3: gabor_bank_3d},
    "morlet": {2: morlet_bank, 3: morlet_bank_3d},
    "leung_malik": {2: leung_malik_bank},
    "schmid": {2: schmid_bank},
    "rfs": {2: rfs_bank},
    "log": {2: log_bank},
    "dog": {2: dog_bank},
    "learned": {2: learn_patch_filters},
}
