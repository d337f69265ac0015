#!/usr/bin/env bash
# vigil dataset export and vigil augment on real footage (vtest.avi) with
# the real detector: the same inputs give byte-identical sets, the formats
# are what they say (crops per label, YOLO lines in 0..1, COCO JSON that
# matches the manifest), filters hold, and augment reproduces a set from
# its seed and recipe while another seed gives another set.
set -euo pipefail
vigil=$1
cache=${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}
clip=$cache/footage/vtest.avi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

ex() { "$vigil" dataset export --from-video "$clip" --every 25 --max-frames 4 "$@"; }
ex --out "$work/a" --label person --min-score 0.4
ex --out "$work/b" --label person --min-score 0.4
diff -r "$work/a" "$work/b" >/dev/null || fail "two exports of the same input differ"
n=$(find "$work/a/person" -name '*.jpg' | wc -l)
[[ $n -ge 10 ]] || fail "only $n person crops from 4 frames of vtest.avi"
[[ $(find "$work/a" -mindepth 1 -maxdepth 1 -type d | wc -l) == 1 ]] || fail "--label person exported other labels"
/usr/bin/python3 - "$work/a/manifest.json" "$n" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
items = m["items"]
assert len(items) == int(sys.argv[2]) == m["objects"], (len(items), sys.argv[2])
for it in items:
    assert it["label"] == "person" and it["score"] >= 0.4, it
    assert it["source"].endswith("vtest.avi") and it["camera"] and it["frame"] % 25 == 0, it
    x1, y1, x2, y2 = it["box"]
    assert 0 <= x1 < x2 and 0 <= y1 < y2, it
assert [it["frame"] for it in items] == sorted(it["frame"] for it in items)
PY
"$vigil" dataset export --out "$work/a" --from-video "$clip" 2>/dev/null && fail "exported into a non-empty folder"

ex --out "$work/y" --format yolo --from 1 --to 6
[[ -s "$work/y/classes.txt" && $(head -1 "$work/y/classes.txt") == person ]] || fail "yolo classes.txt"
/usr/bin/python3 - "$work/y" <<'PY'
import json, os, sys
m = json.load(open(os.path.join(sys.argv[1], "manifest.json")))
times = sorted({it["time"] for it in m["items"]})
assert times and all(1 <= t <= 6 for t in times), times
frames = sorted({it["frame"] for it in m["items"]})
imgs = sorted(os.listdir(os.path.join(sys.argv[1], "images")))
assert imgs == ["vtest_f%06d.jpg" % f for f in frames], (imgs, frames)
assert len(os.listdir(os.path.join(sys.argv[1], "labels"))) == len(imgs)
PY
awk 'NF != 5 || $2 < 0 || $2 > 1 || $3 < 0 || $3 > 1 || $4 <= 0 || $4 > 1 || $5 <= 0 || $5 > 1 { bad = 1 }
     END { exit bad }' "$work"/y/labels/*.txt || fail "yolo label lines out of 0..1"

ex --out "$work/c" --format coco
/usr/bin/python3 - "$work/c" <<'PY'
import json, os, sys
d = sys.argv[1]
coco = json.load(open(os.path.join(d, "annotations.json")))
m = json.load(open(os.path.join(d, "manifest.json")))
assert len(coco["annotations"]) == len(m["items"]) > 0
ids = {im["id"]: im for im in coco["images"]}
for a in coco["annotations"]:
    im = ids[a["image_id"]]
    assert os.path.exists(os.path.join(d, im["file_name"]))
    x, y, w, h = a["bbox"]
    assert w > 0 and h > 0 and x + w <= im["width"] + 1 and y + h <= im["height"] + 1
    assert coco["categories"][a["category_id"] - 1]["id"] == a["category_id"]
PY

# augment: a set reproduced from seed and recipe; another seed, another set
"$vigil" augment "$work/a" "$work/x1" --seed 5 --recipe "amplify; conditions" --copies 2
"$vigil" augment "$work/a" "$work/x2" --seed 5 --recipe "$work/x1/augment.txt" --copies 2
"$vigil" augment "$work/a" "$work/x3" --seed 6 --recipe "amplify; conditions" --copies 2
diff -r "$work/x1" "$work/x2" >/dev/null || fail "augment: the recorded recipe does not reproduce the set"
[[ $(find "$work/x1" -name '*.jpg' | wc -l) == $((2 * n)) ]] || fail "augment: --copies 2 did not double the set"
cmp -s "$work/x1/manifest.json" "$work/a/manifest.json" || fail "augment: the manifest was not copied"
differ=$(diff -rq "$work/x1" "$work/x3" | grep -c 'jpg differ' || true)
[[ $differ -ge $n ]] || fail "augment: seeds 5 and 6 gave the same pictures ($differ of $((2 * n)) differ)"
"$vigil" augment "$work/a" "$work/bad" --recipe "rotate angle=3" 2>"$work/err" && fail "a bad recipe was accepted"
grep -q "unknown parameter 'angle'" "$work/err" || fail "a bad recipe's message: $(cat "$work/err")"
echo "dataset export and augment: ok ($n crops)"
