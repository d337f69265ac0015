#!/usr/bin/env bash
# bench/fashion/fashion_mnist.py --grid reduced: trains the network 4 times
# (500 and 2,000 pictures, plain and amplified) and writes the table and the
# plot into BUILD/fashion-mnist; then checks what must hold whatever the
# claim's answer: more data helps on clean pictures, every condition
# degrades accuracy, the plot and the table are there and agree with the JSON.
set -euo pipefail
src=$1 build=$2
out=$build/fashion-mnist
rm -rf "$out"
/usr/bin/python3 "$src/bench/fashion/fashion_mnist.py" --build "$build" --grid reduced --out "$out"
/usr/bin/python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
r = json.load(open(os.path.join(out, "fashion-mnist.json")))
acc = {(x["n"], x["amplify"]): x["accuracy"] for x in r["runs"]}
assert len(acc) == 4, acc
for amp in (False, True):
    a, b = acc[(500, amp)], acc[(2000, amp)]
    assert b["clean"] > a["clean"] + 0.05, ("2,000 pictures should beat 500", amp, a["clean"], b["clean"])
    assert b["clean"] > 0.6, b
    for cond in ("night", "fog", "rain", "noise"):
        assert b[cond] < b["clean"] - 0.03, ("%s does not degrade" % cond, b)
table = open(os.path.join(out, "fashion-mnist.md")).read()
assert "%.1f" % (acc[(2000, False)]["clean"] * 100) in table, table
assert os.path.getsize(os.path.join(out, "fashion-mnist.png")) > 10000
print("fashion-mnist reduced grid: ok")
PY
