#!/usr/bin/python3
"""OpenCV side of bench/correct: the equivalent of each vigil kernel, one
thread (times are thread CPU time), on the same frame (vtest.avi frame 100 upscaled like the C side).
Prints one line per measurement: KEY WIDTH HEIGHT MEDIAN_MS.
usage: opencv_ref.py VTEST_PATH"""
import sys
import time

import cv2
import numpy as np

cv2.setNumThreads(1)
HAVE_XIMGPROC = hasattr(cv2, "ximgproc") and hasattr(cv2.ximgproc, "guidedFilter")


def median_ms(fn, n):
    # a few calls first: glibc adapts its mmap threshold to OpenCV's per-call
    # 2 MB blob only after the first frees (until then each call page-faults)
    for _ in range(min(n, 5)):
        fn()
    ts = []
    for _ in range(n):
        t0 = time.thread_time()
        fn()
        ts.append((time.thread_time() - t0) * 1e3)
    ts.sort()
    return ts[len(ts) // 2]


def box_guided(I, p, r, eps):
    """Guided filter with box filters (He et al.), when ximgproc is absent."""
    k = (2 * r + 1, 2 * r + 1)
    mI = cv2.blur(I, k); mp = cv2.blur(p, k)
    cIp = cv2.blur(I * p, k) - mI * mp
    vI = cv2.blur(I * I, k) - mI * mI
    a = cIp / (vI + eps); b = mp - a * mI
    return cv2.blur(a, k) * I + cv2.blur(b, k)


def dehaze(bgr, gray):
    img = bgr.astype(np.float32) / 255.0
    dark = cv2.erode(img.min(axis=2), np.ones((15, 15), np.uint8))
    n = max(dark.size // 1000, 1)
    idx = np.argpartition(dark.ravel(), -n)[-n:]
    A = img.reshape(-1, 3)[idx].mean(axis=0)
    t = 1 - 0.95 * cv2.erode((img / A).min(axis=2), np.ones((15, 15), np.uint8))
    g = gray.astype(np.float32) / 255.0
    if HAVE_XIMGPROC:
        t = cv2.ximgproc.guidedFilter(g, t, 40, 1e-3)
    else:
        t = box_guided(g, t, 40, 1e-3)
    t = np.maximum(t, 0.2)[..., None]
    return np.clip((img - A) / t + A, 0, 1)


def main():
    cap = cv2.VideoCapture(sys.argv[1])
    cap.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, frame = cap.read()
    if not ok:
        sys.exit("cannot read " + sys.argv[1])
    print("# ximgproc.guidedFilter available: %s" % HAVE_XIMGPROC)
    for (w, h) in ((1280, 720), (1920, 1080)):
        bgr = cv2.resize(frame, (w, h), interpolation=cv2.INTER_CUBIC)
        i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
        gray = i420[:h]
        out = lambda k, ms: print("%s %d %d %.4f" % (k, w, h, ms), flush=True)
        out("tensor", median_ms(lambda: cv2.dnn.blobFromImage(
            bgr, 1 / 255.0, (416, 416), swapRB=True), 50))
        out("tensor_yuv", median_ms(lambda: cv2.dnn.blobFromImage(
            cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420), 1 / 255.0, (416, 416),
            swapRB=True), 50))
        clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
        out("clahe", median_ms(lambda: clahe.apply(gray), 50))
        lut = (255.0 * (np.arange(256) / 255.0) ** 0.6).astype(np.uint8)
        out("gamma", median_ms(lambda: cv2.LUT(gray, lut), 50))
        out("lowlight", median_ms(lambda: cv2.LUT(clahe.apply(gray), lut), 50))
        out("dehaze", median_ms(lambda: dehaze(bgr, gray), 5))
        out("denoise", median_ms(lambda: cv2.fastNlMeansDenoising(gray, None, 10, 7, 21), 1))


if __name__ == "__main__":
    main()
