"""The one cache store: bounded in bytes whatever the number of image sizes."""
import pickle
import tracemalloc

import numpy as np

import featpool
from featpool import _cache, config_context


def test_the_store_stays_within_its_budget_over_2000_image_sizes():
    bank = featpool.gabor_bank((16, 16), n_scales=2, n_orientations=3, dtype=np.float32)
    rng = np.random.default_rng(0)
    shapes = list(dict.fromkeys((int(a), int(b)) for a, b in rng.integers(8, 64, (4000, 2))))
    shapes = shapes[:2000]
    assert len(shapes) == 2000
    featpool.clear_cache()
    with config_context(working_memory=2):
        budget = 2 * 2**20 * _cache.CACHE_FRACTION
        for i, shape in enumerate(shapes):
            featpool.filter_pool(rng.random(shape, dtype=np.float32), bank, mode="wrap",
                                 pooling=featpool.Pooling(levels=(1, 2)))
            assert _cache.cache_nbytes() <= budget, (i, shape)
    featpool.clear_cache()


def test_what_the_process_holds_does_not_grow_with_the_sizes_seen():
    """The store's count is what memory really holds: traced memory after 150
    sizes is no more than after 50, plus the budget."""
    bank = featpool.gabor_bank((16, 16), n_scales=2, n_orientations=3, dtype=np.float32)
    rng = np.random.default_rng(1)
    featpool.clear_cache()
    with config_context(working_memory=1):
        tracemalloc.start()
        try:
            for i in range(150):
                shape = (20 + i // 7, 20 + i % 7 * 9)
                featpool.filter_pool(rng.random(shape, dtype=np.float32), bank, mode="reflect")
                if i == 50:
                    early = tracemalloc.get_traced_memory()[0]
            late = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
    assert late < early + 2**20 * _cache.CACHE_FRACTION, (early, late)
    featpool.clear_cache()


def test_a_result_larger_than_the_budget_is_kept_alone():
    featpool.clear_cache()
    with config_context(working_memory=1):
        small = featpool.gabor_bank((8, 8), dtype=np.float32).spectra
        large = featpool.gabor_bank((512, 512), n_scales=1, n_orientations=2).spectra
        assert large.nbytes > 2**20
        assert _cache.cache_nbytes() < large.nbytes + 4096      # everything else dropped
        assert featpool.gabor_bank((8, 8), dtype=np.float32).spectra is not small
    featpool.clear_cache()


def test_an_unpickled_bank_is_equal_and_shares_the_cache():
    for bank in (featpool.gabor_bank((20, 24)),
                 featpool.filters.leung_malik_bank((20, 24)).subset([0, 5])):
        copy = pickle.loads(pickle.dumps(bank))
        assert copy == bank and hash(copy) == hash(bank) and copy is not bank
        assert copy.for_shape((30, 30)) is bank.for_shape((30, 30))
    # Banks given as arrays are equal only to themselves.
    spectra = np.ones((1, 4, 4))
    a = featpool.FilterBank(spectra, [{"kind": "x"}])
    assert a == a and a != featpool.FilterBank(spectra, [{"kind": "x"}])


def test_the_store_counts_the_arrays_of_what_it_holds():
    featpool.clear_cache()
    assert _cache.cache_nbytes() == 0

    @_cache.cached
    def make(n):
        return (np.zeros(n), [np.ones(n)])

    make(1000)
    assert 16000 <= _cache.cache_nbytes() < 16000 + 1024
    make.cache_clear()
    assert _cache.cache_nbytes() == 0
