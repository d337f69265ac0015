#!/usr/bin/python3
"""bench/actor's subscriber: counts det.* messages over a window and the
capture-to-event latency of each (receive time minus the frame's `time`),
and reads the drops of the last stats message. Prints one line of figures."""
import json, sys, time
from datetime import datetime
import zmq

endpoint, warmup, secs = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b"det.")
sub.setsockopt(zmq.SUBSCRIBE, b"stats")
sub.setsockopt(zmq.RCVHWM, 100000)
sub.connect(endpoint)
start = time.time()
begin, end = start + warmup, start + warmup + secs
analysed = detected = 0
lat = []
drops = {}
while time.time() < end:
    if not sub.poll(200):
        continue
    parts = sub.recv_multipart()
    now = time.time()
    msg = json.loads(parts[-1])
    if parts[0].startswith(b"stats"):
        if "camera" in msg:
            d = msg.get("dropped", {})
            drops[msg["camera"]] = (d.get("ring", 0) + d.get("pool", 0), msg.get("detect", {}).get("dropped", 0))
        continue
    if now < begin:
        continue
    analysed += 1
    if msg.get("detected"):
        detected += 1
    t = datetime.strptime(msg["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=None)
    lat.append((now - (t - datetime(1970, 1, 1)).total_seconds()) * 1000)
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
ring = sum(v[0] for v in drops.values())
det = sum(v[1] for v in drops.values())
print(f"{analysed / secs:12.1f} {detected / secs:12.1f} {pct(0.5):9.1f} {pct(0.99):9.1f} {ring}, {det}")
