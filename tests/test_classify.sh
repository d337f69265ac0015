#!/usr/bin/env bash
# cameras.X.classify end to end: the classifier test_train trained (a few
# epochs on person/truck crops vigil dataset export cut from vtest.avi) runs
# as a cascade stage in vigil replay (the daemon's runtime: config, model
# actors, workers) on vtest.avi, and its attributes {class, class_score}
# appear on the person objects of det. and event. messages, and only there.
set -euo pipefail
vigil=$1 work=$(cd "$2" && pwd)
cache=${VIGIL_CACHE_DIR:-$HOME/.cache/vigil}
fail() { echo "FAIL: $*"; exit 1; }
[[ -f $work/a.onnx && -f $work/a.json ]] || fail "no trained model in $work (test_train makes it)"
cat >"$work/classify.yaml" <<YAML
models:
  detector: { path: $cache/models/nanodet.onnx, head: nanodet, input: [416, 416] }
  staff: { path: $work/a.onnx, head: classifier, input: [32, 32] }
cameras:
  street:
    url: $cache/footage/vtest.avi
    analysis_fps: 2
    detect: { model: detector, when: always }
    classify: { model: staff, on: [person] }
YAML
"$vigil" replay "$cache/footage/vtest.avi" --config "$work/classify.yaml" --camera street >"$work/replay.jsonl" \
    2>"$work/replay.err" || { cat "$work/replay.err"; fail "vigil replay failed"; }
/usr/bin/python3 - "$work/replay.jsonl" "$work/a.txt" <<'PY'
import json, sys
classes = open(sys.argv[2]).read().split()
det = ev = unclassified = 0
for line in open(sys.argv[1]):
    m = json.loads(line)
    topic = m["topic"]
    if topic.startswith("det."):
        for o in m["objects"]:
            a = o.get("attributes") or {}
            if o["label"] != "person":
                assert "class" not in a, ("only person boxes are classified", o)
            elif "class" in a:
                assert a["class"] in classes and 0 <= a["class_score"] <= 1, o
                det += 1
            else:
                unclassified += 1
    elif topic.startswith("event."):
        a = m.get("attributes") or {}
        if m["label"] == "person" and m["type"] != "end":
            assert a.get("class") in classes and 0 <= a["class_score"] <= 1, m
            ev += 1
        elif m["label"] != "person":
            assert "class" not in a, m
print("classified people: %d in det. messages, %d person events; %d people without a class" % (det, ev, unclassified))
assert det > 0 and ev > 0, "no class attribute on det./event. messages"
assert unclassified <= det // 20, "too many person boxes without a class (crops too small?)"
PY
