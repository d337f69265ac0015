#!/usr/bin/python3
"""Reference CLAHE for tests/test_correct_lowlight.c: Debian's python3-opencv.
usage: clahe_ref.py IN.raw OUT.raw WIDTH HEIGHT CLIP TILES_X TILES_Y
IN/OUT are 8-bit planes, WIDTH bytes per row."""
import sys
import numpy as np
import cv2

src, dst, w, h, clip, tx, ty = sys.argv[1:8]
w, h, tx, ty = int(w), int(h), int(tx), int(ty)
img = np.fromfile(src, dtype=np.uint8).reshape(h, w)
cv2.setNumThreads(1)
out = cv2.createCLAHE(clipLimit=float(clip), tileGridSize=(tx, ty)).apply(img)
out.astype(np.uint8).tofile(dst)
