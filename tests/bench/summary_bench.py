"""Benchmark: the os_upgrade playbook's Summary play over thousands of node hosts, without a cluster.

Writes an inventory of N node hosts shaped like a real one (three pools as groups with `prewarm_pool`, each host
with its `prewarm_node_name`, the `prewarm_pools` catalogue, all of them in os_upgrade_targets) and runs
tests/bench/summary/summary.yml on it: a first play leaves on each host, with set_fact as the node_upgrade role does,
the facts the role leaves (node_upgrade_state, node_upgrade_timeline, node_upgrade_report), then the playbook's own
Summary play (its keywords, which a unit test keeps the same, and its tasks, playbooks/tasks/os_upgrade_summary.yml:
the per-node summary, the HTML report with AWX's stats, the report's path, and the run failed when a node failed).
A callback (tests/bench/summary/callback_plugins) times each play and task; the figures are the Summary play's wall
time, from its start to the end of the run, and its CPU time (ansible-playbook's and its workers'), which a machine
busy with other work changes much less.

  python tests/bench/summary_bench.py                          # 5,000 hosts, scenario failures, one run
  python tests/bench/summary_bench.py --hosts 5000 --runs 3 --scenario released --scenario unreached --check

Scenarios: failures (every batch ran, every 97th node failed its warm-up), released (no node failed), unreached (the
first batch of 50 ran, one of its nodes failed, the other hosts were never reached). With --check the runs are check
runs (the summary then says what a run would do). --keep keeps the work directory: the inventory, each run's output
(the operator's view, the default callback) and its report.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from run_ansible import ansible_env  # pylint: disable=wrong-import-position

PLAYBOOK = os.path.join(HERE, "summary", "summary.yml")
CALLBACKS = os.path.join(HERE, "summary", "callback_plugins")
POOLS = ("cpu", "gpu", "web")
SUMMARY_PLAY = "Summary"


def inventory(hosts):
    """The inventory as YAML text: the hosts split over three pools, in order, pool after pool."""
    per_pool = -(-hosts // len(POOLS))
    lines = ["all:", "  vars:", "    ansible_connection: local", "    prewarm_namespace: prewarm-system",
             "    prewarm_pools:"]
    for pool in POOLS:
        lines += ["      %s:" % pool, "        node_selector: {pool: %s}" % pool,
                  "        tolerations: [{key: prewarm.test/pool, operator: Equal, value: %s, effect: NoSchedule}]" % pool,
                  "        images: [registry.example.com/team/model-server:4.2, registry.example.com/team/sidecar:1.9,"
                  " registry.example.com/team/tokenizer:0.7]"]
    lines += ["  children:", "    os_upgrade_targets:", "      children:"]
    for number, pool in enumerate(POOLS):
        lines += ["        %s:" % pool, "          vars:", "            prewarm_pool: %s" % pool, "          hosts:"]
        for index in range(number * per_pool, min(hosts, (number + 1) * per_pool)):
            lines.append("            host-%05d: {prewarm_node_name: node-%05d}" % (index, index))
    return "\n".join(lines) + "\n"


def run(workdir, inventory_path, scenario, check, forks, label):
    """One ansible-playbook run: {summary_seconds, setup_seconds, total_seconds, rc, tasks} (the Summary play's tasks)."""
    times = os.path.join(workdir, label + ".times.json")
    output = os.path.join(workdir, label + ".out")
    env = ansible_env({
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_CALLBACK_PLUGINS": CALLBACKS,
        "ANSIBLE_CALLBACKS_ENABLED": "summary_timer",
        "ANSIBLE_HOST_KEY_CHECKING": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "SUMMARY_BENCH_TIMES": times,
    })
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory_path, PLAYBOOK,
           "-f", str(forks), "-e", "summary_bench_scenario=" + scenario,
           "-e", "prewarm_report_path=" + os.path.join(workdir, label + ".html")]
    if check:
        cmd.append("--check")
    started = time.time()
    with open(output, "w", encoding="utf-8") as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    total = time.time() - started
    with open(times, encoding="utf-8") as stream:
        timed = json.load(stream)
    plays = dict((play["play"], play) for play in timed["plays"])
    if SUMMARY_PLAY not in plays:
        raise SystemExit("%s: no Summary play in the run (exit %d); see %s" % (label, proc.returncode, output))
    return {"summary_seconds": plays[SUMMARY_PLAY]["seconds"], "summary_cpu_seconds": plays[SUMMARY_PLAY]["cpu_seconds"],
            "setup_seconds": sum(play["seconds"] for name, play in plays.items() if name != SUMMARY_PLAY),
            "total_seconds": total, "rc": proc.returncode, "load_average": os.getloadavg()[0],
            "tasks": [(task["task"], task["seconds"], task["cpu_seconds"]) for task in timed["tasks"] if task["play"] == SUMMARY_PLAY]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--scenario", action="append", choices=("failures", "released", "unreached"))
    parser.add_argument("--check", action="store_true", help="check runs (ansible-playbook --check)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each scenario")
    parser.add_argument("--forks", type=int, default=20, help="forks of the setup play (the Summary's tasks run once)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (inventory, outputs, reports)")
    parser.add_argument("--json", help="write the figures to this file too")
    args = parser.parse_args()
    scenarios = args.scenario or ["failures"]
    workdir = tempfile.mkdtemp(prefix="summary-bench-")
    results = []
    try:
        inventory_path = os.path.join(workdir, "inventory.yml")
        with open(inventory_path, "w", encoding="utf-8") as out:
            out.write(inventory(args.hosts))
        for scenario in scenarios:
            for number in range(args.runs):
                label = "%s%s-%d" % (scenario, "-check" if args.check else "", number + 1)
                result = run(workdir, inventory_path, scenario, args.check, args.forks, label)
                result.update(scenario=scenario, check=args.check, hosts=args.hosts, run=number + 1)
                results.append(result)
                print("%-22s Summary play %6.2f s wall, %6.2f s CPU (setup %.0f s, exit %d, load average %.1f)"
                      % (label, result["summary_seconds"], result["summary_cpu_seconds"], result["setup_seconds"], result["rc"],
                         result["load_average"]), flush=True)
                for task, seconds, cpu_seconds in result["tasks"]:
                    print("    %6.2f s wall %6.2f s CPU  %s" % (seconds, cpu_seconds, task), flush=True)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as out:
                json.dump(results, out, indent=1)
    finally:
        if args.keep:
            print("work directory kept: %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
