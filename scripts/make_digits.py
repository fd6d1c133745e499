"""Write ``engine/datasets/data/digits.npz`` from scikit-learn's bundled handwritten digits.

Run once by a developer; the .npz is checked in, so neither the server nor the
tests need scikit-learn. scikit-learn pulls SciPy (~270 MB), so use a throwaway
virtual environment::

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn
    /tmp/skl/bin/python scripts/make_digits.py

The data are the 1,797 8×8 images of the "Optical Recognition of Handwritten
Digits" set (E. Alpaydin and C. Kaynak, UCI Machine Learning Repository, CC BY
4.0) as scikit-learn ships them: each pixel counts the set pixels of a 4×4 block
of the original 32×32 bitmap, so it is an integer in 0..16.

Output arrays (compressed): ``pixels`` uint8 (1797, 8, 8) in 0..16 and
``labels`` uint8 (1797,) in 0..9, in scikit-learn's order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parent.parent / "engine" / "datasets" / "data" / "digits.npz"


def main() -> None:
    bunch = load_digits()
    images = np.asarray(bunch.images)
    targets = np.asarray(bunch.target)
    if images.shape != (1797, 8, 8) or targets.shape != (1797,):
        raise SystemExit(f"unexpected shapes from load_digits: {images.shape}, {targets.shape}")
    if not np.array_equal(images, np.round(images)) or images.min() < 0 or images.max() > 16:
        raise SystemExit("expected integer pixels in 0..16")
    pixels = images.astype(np.uint8)
    labels = targets.astype(np.uint8)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, pixels=pixels, labels=labels)
    with np.load(OUT) as check:
        assert np.array_equal(check["pixels"], pixels) and np.array_equal(check["labels"], labels)
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes): {len(labels)} images, counts {np.bincount(labels)}")


if __name__ == "__main__":
    main()
