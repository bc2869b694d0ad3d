"""Write docs/benchmarks.md and docs/benchmarks.svg from the results of tests/bench/bench.py.

  python tests/bench/report.py tests/bench/results.json   # rewrites docs/benchmarks.md and docs/benchmarks.svg
"""
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# The targets of the issue, at 1,000 nodes.
TARGET_SIZE = "1000"
TARGET_SPEEDUP = 20
TARGET_DELAY_MEDIAN = 1.0
TARGET_DELAY_P99 = 3.0
TARGET_WRITES_PER_NODE = 4
TARGET_PEAK_MB = 200

ROWS = [
    ("wall time (s)", "wall_seconds"),
    ("controller CPU user+sys (s)", "cpu_seconds"),
    ("controller peak memory, PSS of the process tree (MB)", "peak_pss_tree_mb"),
    ("controller peak memory, RSS summed over the tree (MB)", "peak_rss_tree_mb"),
    ("controller peak memory, largest single process RSS (MB)", "peak_rss_process_mb"),
    ("API requests, total", "requests_total"),
    ("API write requests, total", "writes_total"),
    ("write requests per node", "writes_per_node"),
    ("writes to nodes per node", "node_writes_per_node"),
    ("release delay, median (s)", "release_delay_median"),
    ("release delay, p99 (s)", "release_delay_p99"),
    ("release delay, max (s)", "release_delay_max"),
    ("most nodes pulling at once", "max_pulling_seen"),
]


def _fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return "%.2f" % value if value < 100 else "%.0f" % value
    return str(value)


def _ratio(ours, plain):
    if ours in (None, 0) or plain is None:
        return "-"
    return "%.3g" % (ours / float(plain))


def _measured(run):
    """The run if it has figures (a run that failed its end-state check still has them)."""
    return run if run and "wall_seconds" in run else None


def table(size, runs):
    ours, plain = _measured(runs.get("ours")), _measured(runs.get("plain"))
    lines = ["| %s nodes | prewarm.k8s | plain kubernetes.core | ours / plain |" % size, "|---|---:|---:|---:|"]
    for label, key in ROWS:
        o = ours.get(key) if ours else None
        p = plain.get(key) if plain else None
        lines.append("| %s | %s | %s | %s |" % (label, _fmt(o), _fmt(p), _ratio(o, p)))
    if ours:
        lines.append("| max_pulling configured | %s | none (all at once) | |" % ours.get("max_pulling"))
    return "\n".join(lines)


def requests_table(size, runs):
    keys = sorted(set(k for way in ("ours", "plain") for k in (runs.get(way) or {}).get("requests", {})))
    lines = ["| %s nodes: verb resource | prewarm.k8s | plain |" % size, "|---|---:|---:|"]
    ours, plain = (runs.get("ours") or {}).get("requests", {}), (runs.get("plain") or {}).get("requests", {})
    for key in keys:
        lines.append("| %s | %s | %s |" % (key, ours.get(key, 0), plain.get(key, 0)))
    return "\n".join(lines)


def targets(results):
    lines = []
    for size in sorted(results["sizes"], key=int):
        small_ours, small_plain = (_measured(results["sizes"][size].get(way)) for way in ("ours", "plain"))
        if size != TARGET_SIZE and small_ours and small_plain:
            lines.append("- (at %s nodes, for comparison: %.1fx faster than plain)" % (size, small_plain["wall_seconds"] / small_ours["wall_seconds"]))
    runs = results["sizes"].get(TARGET_SIZE, {})
    ours, plain = _measured(runs.get("ours")), _measured(runs.get("plain"))
    if not ours:
        return ["- not measured at %s nodes yet" % TARGET_SIZE] + lines
    checks = []
    if plain:
        speedup = plain["wall_seconds"] / ours["wall_seconds"]
        checks.append(("at least %dx faster than plain" % TARGET_SPEEDUP, speedup >= TARGET_SPEEDUP, "%.1fx" % speedup))
    else:
        checks.append(("at least %dx faster than plain" % TARGET_SPEEDUP, None, "plain not measured at this size"))
    checks.append(("release delay median under %g s" % TARGET_DELAY_MEDIAN, (ours["release_delay_median"] or 0) < TARGET_DELAY_MEDIAN,
                   "%s s" % _fmt(ours["release_delay_median"])))
    checks.append(("release delay p99 under %g s" % TARGET_DELAY_P99, (ours["release_delay_p99"] or 0) < TARGET_DELAY_P99,
                   "%s s" % _fmt(ours["release_delay_p99"])))
    checks.append(("at most %d write requests per node" % TARGET_WRITES_PER_NODE, ours["writes_per_node"] <= TARGET_WRITES_PER_NODE,
                   "%s" % _fmt(ours["writes_per_node"])))
    checks.append(("controller peak memory under %d MB (PSS of the process tree)" % TARGET_PEAK_MB, ours["peak_pss_tree_mb"] < TARGET_PEAK_MB,
                   "%s MB" % _fmt(ours["peak_pss_tree_mb"])))
    lines = ["- %s: **%s** (%s)" % (what, {True: "met", False: "MISSED", None: "not measured"}[ok], value) for what, ok, value in checks] + lines
    if "failed" in ours:
        lines.append("- our run at %s nodes failed its end-state check (see above): its figures are given, not vouched for" % TARGET_SIZE)
    return lines


def svg(results):
    """A bar chart of wall time per size and way (log scale), and the pulling curves of our runs, as plain SVG."""
    sizes = sorted(results["sizes"], key=int)
    width, height, left, bottom = 760, 300, 70, 250
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (width, height * 2),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="%d" y="20" font-size="14">Pre-warm cycle wall time (s, log scale): prewarm.k8s vs plain kubernetes.core</text>' % left]
    values = [run["wall_seconds"] for size in sizes for run in (_measured(results["sizes"][size].get(w)) for w in ("ours", "plain")) if run]
    top = 10 ** math.ceil(math.log10(max(values + [10])))

    def y_of(value):
        return bottom - (math.log10(max(value, 1)) / math.log10(top)) * (bottom - 40)
    for exp in range(0, int(math.log10(top)) + 1):
        y = y_of(10 ** exp)
        parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' % (left, width - 20, y, y))
        parts.append('<text x="%d" y="%.1f" text-anchor="end">%d</text>' % (left - 5, y + 4, 10 ** exp))
    slot = (width - left - 40) / max(1, len(sizes))
    for i, size in enumerate(sizes):
        for j, (way, colour) in enumerate((("ours", "#2a7ab9"), ("plain", "#c0504d"))):
            run = _measured(results["sizes"][size].get(way))
            x = left + 20 + i * slot + j * 70
            if not run:
                parts.append('<text x="%.1f" y="%d" font-size="10">%s: n/a</text>' % (x, bottom - 5, way))
                continue
            y = y_of(run["wall_seconds"])
            parts.append('<rect x="%.1f" y="%.1f" width="60" height="%.1f" fill="%s"/>' % (x, y, bottom - y, colour))
            parts.append('<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>' % (x + 30, y - 4, _fmt(run["wall_seconds"])))
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">%s nodes</text>' % (left + 20 + i * slot + 65, bottom + 18, size))
    parts.append('<rect x="%d" y="30" width="12" height="12" fill="#2a7ab9"/><text x="%d" y="40">prewarm.k8s (prewarm playbook)</text>'
                 % (width - 300, width - 283))
    parts.append('<rect x="%d" y="48" width="12" height="12" fill="#c0504d"/><text x="%d" y="58">plain kubernetes.core</text>'
                 % (width - 300, width - 283))
    # Nodes pulling over time, our runs.
    base = height + 20
    parts.append('<text x="%d" y="%d" font-size="14">Nodes pulling at once over a run (prewarm.k8s; dashed: max_pulling)</text>' % (left, base))
    plot_top, plot_bottom = base + 20, base + 240
    series = [(size, results["sizes"][size]["ours"]) for size in sizes if _measured(results["sizes"][size].get("ours"))]
    if series:
        t_max = max(run["wall_seconds"] for _s, run in series)
        p_max = max([run["max_pulling_seen"] for _s, run in series] + [run.get("max_pulling") or 0 for _s, run in series] + [1])
        parts.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#999"/>' % (left, width - 20, plot_bottom, plot_bottom))
        parts.append('<text x="%d" y="%d" text-anchor="end">%d</text>' % (left - 5, plot_top + 4, p_max))
        parts.append('<text x="%d" y="%d" text-anchor="end">0</text>' % (left - 5, plot_bottom + 4))
        parts.append('<text x="%d" y="%d" text-anchor="end">%.0f s</text>' % (width - 20, plot_bottom + 16, t_max))
        colours = ["#2a7ab9", "#6a3d9a", "#33a02c"]
        for k, (size, run) in enumerate(series):
            points = []
            for t, pulling in run["pulling_series"]:
                x = left + (width - 20 - left) * min(t, t_max) / t_max
                points.append("%.1f,%.1f" % (x, plot_bottom - (plot_bottom - plot_top) * pulling / p_max))
            parts.append('<polyline fill="none" stroke="%s" points="%s"/>' % (colours[k % 3], " ".join(points)))
            parts.append('<text x="%d" y="%d" fill="%s">%s nodes</text>' % (width - 120, plot_top + 14 * k, colours[k % 3], size))
            if run.get("max_pulling"):
                y = plot_bottom - (plot_bottom - plot_top) * run["max_pulling"] / p_max
                parts.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#999" stroke-dasharray="4 3"/>' % (left, width - 20, y, y))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def markdown(results, svg_name):
    m = results["machine"]
    versions = ", ".join("%s %s" % item for item in sorted(m["versions"].items()))
    out = ["# Benchmarks", "",
           "The full pre-warm cycle of a pool - mark the nodes, apply the preloader, wait until every node is warm,",
           "release - on simulated (kwok) pools, run with this collection's `prewarm` playbook (`warm_mark: true`) and,",
           "side by side, the way a user writes it today with kubernetes.core alone",
           "([tests/bench/plain_kubernetes_core.yml](../tests/bench/plain_kubernetes_core.yml): `k8s_taint` in a loop, `k8s`",
           "for the DaemonSet, `k8s_info` with `until`/`retries` every %d s, `k8s_taint` in a loop to release). Both apply"
           % results.get("plain_poll_delay", 5),
           "the same DaemonSet (the preloader module's rendering, tolerating the maintenance taint); ours adds the admission",
           "gate so at most `max_pulling` nodes pull at once. After each run the script checks the end state and fails if it",
           "is not the same for both: no maintenance taint on any node, a Ready preloader pod with every image on every node,",
           "the DaemonSet present.",
           "",
           "Reproduce (needs the test cluster, `make cluster-up`):",
           "",
           "```sh",
           "make bench          # 100 and 1,000 nodes; writes tests/bench/results.json, this page and benchmarks.svg",
           "make bench-smoke    # 20 nodes, both ways, every check, no targets (what CI runs)",
           "```",
           "",
           "How each figure is taken (tests/bench/bench.py):",
           "",
           "- wall time: of the `ansible-playbook` process.",
           "- API requests: the test cluster's audit log (level Metadata), the requests of the playbook's own user (a client",
           "  certificate made for the run), each request once, by verb and resource. Writes are create, update, patch, delete.",
           "- controller CPU: user+sys of the `ansible-playbook` process tree (rusage of the waited-for children). Peak memory:",
           "  the tree sampled every 0.1 s from /proc; PSS counts the pages that the forked Ansible workers share with their",
           "  parent once, RSS summed counts them in every process, and the largest single process is given too.",
           "- release delay: per node, the moment the maintenance taint is gone minus the moment its preloader pod turned Ready,",
           "  both as seen by the benchmark's own watch on the nodes and pods (timestamps at event receipt); median and p99.",
           "- nodes pulling: nodes with a preloader pod (or, ours, the admission label) and that pod not Ready yet, at once.",
           "",
           "## Machine", "",
           "- CPU: %s, %s cores; memory %s GB; kernel %s (%s)" % (m["cpu"], m["cores"], m["memory_gb"], m["kernel"], m["os"]),
           "- %s" % versions,
           "- run started %s" % results["started"],
           ""]
    if results.get("notes"):
        out += ["## Conditions of this run", ""] + ["- " + note for note in results["notes"]] + [""]
    out += ["## Targets at 1,000 nodes", ""] + targets(results) + [""]
    if results.get("changes"):
        out += ["## What the benchmark changed in the collection", ""] + ["- " + change for change in results["changes"]] + [""]
    out += ["## Results", "", "![wall time and nodes pulling](%s)" % svg_name, ""]
    for size in sorted(results["sizes"], key=int):
        out += [table(size, results["sizes"][size]), ""]
        for way, run in sorted(results["sizes"][size].items()):
            if "failed" in run:
                out += ["%s on %s nodes FAILED: `%s`" % (way, size, run["failed"][:400].replace("`", "'").replace("\n", " ")), ""]
    out += ["## API requests by verb and resource", ""]
    for size in sorted(results["sizes"], key=int):
        out += [requests_table(size, results["sizes"][size]), ""]
    return "\n".join(out)


def write(results, doc, svg_path):
    with open(svg_path, "w", encoding="utf-8") as out:
        out.write(svg(results))
    with open(doc, "w", encoding="utf-8") as out:
        out.write(markdown(results, os.path.basename(svg_path)))


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results.json")
    with open(path, encoding="utf-8") as stream:
        results = json.load(stream)
    write(results, os.path.join(REPO, "docs", "benchmarks.md"), os.path.join(REPO, "docs", "benchmarks.svg"))


if __name__ == "__main__":
    main()
