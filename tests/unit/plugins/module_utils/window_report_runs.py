# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs to render: one like the demo's os_upgrade (three pools, one node failing), and a synthetic one of any size."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from calendar import timegm
from time import gmtime, strftime

STEPS = ["marked", "drained", "upgraded", "rebooted", "ready", "image_gc", "pruned", "uncordoned", "warm"]
START = timegm((2026, 12, 4, 10, 0, 0, 0, 0, 0))
# The seconds each step takes in these runs.
STEP_SECONDS = {"marked": 2, "drained": 25, "upgraded": 60, "rebooted": 95, "ready": 20, "image_gc": 8, "pruned": 6,
                "uncordoned": 1, "warm": 70}
DIGESTS = ["sha256:" + ("%x" % digit) * 64 for digit in range(1, 10)]


def at(seconds):
    return strftime("%Y-%m-%dT%H:%M:%SZ", gmtime(START + seconds))


def timeline(offset, fail_at=None, error=None, running_from=None, skip=()):
    """A node's node_upgrade_timeline starting `offset` seconds into the run."""
    entries, clock = [], offset
    for step in STEPS:
        if step in skip:
            entries.append({"step": step, "start": at(clock), "end": at(clock), "result": "skipped", "error": None})
            continue
        end = clock + STEP_SECONDS[step]
        if step == fail_at:
            entries.append({"step": step, "start": at(clock), "end": at(end), "result": "failed", "error": error})
            return entries
        if step == running_from:
            entries.append({"step": step, "start": at(clock), "end": None, "result": "done", "error": None})
            return entries
        entries.append({"step": step, "start": at(clock), "end": at(end), "result": "done", "error": None})
        clock = end
    return entries


def images(pool_images, state="present", digest_offset=0):
    return [{"image": image, "digest": DIGESTS[(index + digest_offset) % len(DIGESTS)], "state": state}
            for index, image in enumerate(pool_images)]


def row_for(node, pool, entries, pool_images, failed=False):
    """The node_upgrade_report that goes with a timeline."""
    row = {"node": node, "pool": pool, "since": entries[0]["start"]}
    by_step = dict((entry["step"], entry) for entry in entries)
    if "rebooted" in by_step and by_step["rebooted"]["result"] == "done":
        row.update(reboot_started=by_step["rebooted"]["start"], reboot_ended=by_step["rebooted"]["end"])
    if failed:
        last = entries[-1]
        row.update(result="failed at %s: %s" % (last["step"], last["error"]), failed=True)
        return row
    warm = by_step.get("warm")
    if warm and warm["end"]:
        row.update(admitted_at=warm["start"], warm_at=warm["end"], released_at=warm["end"], result="released",
                   warming_seconds=float(STEP_SECONDS["warm"]), state="warm", images=images(pool_images))
    else:
        row.update(result="warm, still marked: warming", state="cold", images=images(pool_images, "pulling"))
    return row


POOLS = {
    "cpu": ["127.0.0.1:5000/prewarm-test/small:1", "127.0.0.1:5000/prewarm-test/noshell:1"],
    "gpu": ["127.0.0.1:5000/prewarm-test/small:1", "127.0.0.1:5000/prewarm-test/large:1"],
    "real": ["127.0.0.1:5000/prewarm-test/small:1", "127.0.0.1:5000/prewarm-test/noshell:1",
             "127.0.0.1:5000/prewarm-test/large:1"],
}


def demo_run():
    """Like the demo's os_upgrade: cpu and gpu two nodes a batch, the real node alone; kwok-gpu-2 fails its drain."""
    plan = [("kwok-cpu-0", "cpu", 0), ("kwok-cpu-1", "cpu", 0), ("kwok-cpu-2", "cpu", 300),
            ("kwok-gpu-0", "gpu", 600), ("kwok-gpu-1", "gpu", 605), ("kwok-gpu-2", "gpu", 900), ("prewarm-real", "real", 1200)]
    rows, timelines = [], {}
    for node, pool, offset in plan:
        failing = node == "kwok-gpu-2"
        entries = timeline(offset, fail_at="drained" if failing else None,
                           error="Cannot evict pod web-7f9c: disruption budget web-pdb needs 2 healthy pods, 1 is" if failing else None,
                           skip=("rebooted", "image_gc", "pruned") if pool != "real" else ())
        timelines[node] = entries
        rows.append(row_for(node, pool, entries, POOLS[pool], failed=failing))
    stale = dict(rows[-1]["images"][0], state="stale", wanted=DIGESTS[5])
    rows[-1]["images"] = [stale] + rows[-1]["images"][1:]
    return {"playbook": "os_upgrade", "generated_at": at(1500), "check_mode": False, "steps": STEPS,
            "rows": rows, "timelines": timelines}


def synthetic_run(nodes, images_per_node=5, batch=50):
    """`nodes` nodes in batches of `batch`, each with a full timeline and `images_per_node` images; every 97th fails."""
    pool_images = ["registry.example.com/team/image-%d:%d" % (index, index) for index in range(images_per_node)]
    rows, timelines = [], {}
    for index in range(nodes):
        node = "node-%05d" % index
        failing = index % 97 == 96
        entries = timeline((index // batch) * 300 + index % 7, fail_at="warm" if failing else None,
                           error="image registry.example.com/team/image-0:0: ErrImagePull" if failing else None)
        timelines[node] = entries
        rows.append(row_for(node, "pool-%d" % (index % 3), entries, pool_images, failed=failing))
    return {"playbook": "os_upgrade", "generated_at": at((nodes // batch + 1) * 300 + 400), "check_mode": False,
            "steps": STEPS, "rows": rows, "timelines": timelines}
