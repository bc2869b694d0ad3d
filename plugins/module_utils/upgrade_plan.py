# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The os_upgrade playbook's plan: which hosts, in which order, in which batches - decided once, before any change.

A bad input (a pool that is not in the catalogue, a batch size that is not a whole number, hosts that select
nothing) raises InvalidInput naming the value, so a run never ends green having upgraded nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.prewarm.k8s.plugins.module_utils.errors import InvalidInput
from ansible_collections.prewarm.k8s.plugins.module_utils.names import name_list

# Hosts named in a message about hosts, at most (a pattern can match thousands).
NAMED_AT_MOST = 10


def _whole(value, option, low, high=None):
    """A whole number from `low` (to `high`), as an int or as its digits; anything else raises naming it."""
    text = "%s" % (value,)
    if not re.match(r"^[0-9]+$", text) or int(text) < low or (high is not None and int(text) > high):
        raise InvalidInput("%s %s must be a whole number %s" % (
            option, text, "of at least %d" % low if high is None else "from %d to %d" % (low, high)))
    return int(text)


def _named(pairs):
    shown = ", ".join("%s (%s)" % pair for pair in pairs[:NAMED_AT_MOST])
    return shown + (" and %d more" % (len(pairs) - NAMED_AT_MOST) if len(pairs) > NAMED_AT_MOST else "")


def batch_sizes(counts, size, pool_by_pool):
    """The play's serial list: per pool, batches of `size` ending at the pool's last host (a batch never mixes
    pools); or batches of `size` over all the hosts."""
    if not pool_by_pool:
        return [size]
    sizes = []
    for count in counts:
        sizes += [size] * (count // size) + ([count % size] if count % size else [])
    return sizes


def upgrade_plan(host_pools, catalogue, pools=None, batch_size=1, pool_by_pool=True, max_fail_percentage=0, pattern="all"):
    """{hosts, pool_of, serial, pools} for the hosts of the play.

    host_pools: [(host, its prewarm_pool or None)] in inventory order; catalogue: prewarm_pools; pools:
    os_upgrade_pools (a list or a comma-separated string; none: every pool of the catalogue, in its order).
    hosts: the hosts to upgrade, pool after pool in the order of `pools` (inventory order within a pool); serial:
    the batch sizes for the play's `serial`; pools: the pools that have hosts, in order.
    """
    if not isinstance(catalogue, dict) or not catalogue:
        raise InvalidInput("prewarm_pools must define the pools (a mapping of pool name to its settings), got %r" % (catalogue,))
    size = _whole(batch_size, "os_upgrade_batch_size", 1)
    _whole(max_fail_percentage, "os_upgrade_max_fail_percentage", 0, 100)
    order = name_list(pools, "os_upgrade_pools") if pools else list(catalogue)
    unknown = [pool for pool in order if pool not in catalogue]
    if unknown:
        raise InvalidInput("os_upgrade_pools: %s not in prewarm_pools (%s)" % (", ".join(unknown), ", ".join(catalogue)))
    selected = [(host, pool) for host, pool in host_pools if pool is not None]
    if not selected:
        raise InvalidInput("the pattern '%s' matches no host that has a prewarm_pool" % (pattern,))
    strays = [(host, pool) for host, pool in selected if pool not in catalogue]
    if strays:
        raise InvalidInput("hosts whose prewarm_pool is not in prewarm_pools (%s): %s" % (", ".join(catalogue), _named(strays)))
    by_pool = {}
    for host, pool in selected:
        by_pool.setdefault(pool, []).append(host)
    run_pools = [pool for pool in order if pool in by_pool]
    if not run_pools:
        raise InvalidInput("none of the hosts' pools (%s) is in os_upgrade_pools (%s)" % (", ".join(by_pool), ", ".join(order)))
    hosts = [host for pool in run_pools for host in by_pool[pool]]
    return {"hosts": hosts, "pool_of": dict((host, pool) for host, pool in selected if pool in run_pools),
            "serial": batch_sizes([len(by_pool[pool]) for pool in run_pools], size, pool_by_pool), "pools": run_pools}
