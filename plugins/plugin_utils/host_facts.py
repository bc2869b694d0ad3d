# -*- coding: utf-8 -*-
# Copyright: prewarm.k8s contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Some facts of many hosts at once, without what `hostvars[host]` costs for each host.

`hostvars[host]` computes every variable of the host (VariableManager.get_vars: inventory, group and host vars, vars
plugins, facts, magic variables) before one is read: about a millisecond a host, so seconds over thousands of hosts,
and again for each expression that reads them. What set_fact and register leave on a host, Ansible keeps per host in
its VariableManager: there one fact of a host is one dict lookup. set_facts() reads them there and asks hostvars only
for a host where the answer could be somewhere else.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.prewarm.k8s.plugins.module_utils.window_summary import UPGRADE_FACTS, named_by_inventory, upgrade_rows, upgrade_timelines


def _ansible_stores(hostvars):
    """(set_fact and register values by host, include_vars values by host, the fact cache, the extra vars) behind
    Ansible's `hostvars`; None when hostvars is anything else, or Ansible keeps them elsewhere.

    The one place the collection reads Ansible internals (ansible-core 2.19: HostVars._variable_manager and its
    _nonpersistent_fact_cache, _vars_cache, _fact_cache and extra_vars). When one of them is not there, the callers
    read hostvars, as they did before: slower, never wrong.
    """
    manager = getattr(hostvars, "_variable_manager", None)
    set_by_host = getattr(manager, "_nonpersistent_fact_cache", None)
    included_by_host = getattr(manager, "_vars_cache", None)
    fact_cache = getattr(manager, "_fact_cache", None)
    extra_vars = getattr(manager, "extra_vars", None)
    if not (isinstance(set_by_host, Mapping) and isinstance(included_by_host, Mapping) and isinstance(extra_vars, Mapping)
            and callable(getattr(fact_cache, "get", None))):
        return None
    return set_by_host, included_by_host, fact_cache, extra_vars


def _cached(fact_cache, host):
    # The fact cache plugin's get() raises KeyError for a host it has nothing for.
    try:
        return fact_cache.get(host) or {}
    except KeyError:
        return {}


def set_facts(hostvars, hosts, names):
    """{host: mapping} giving, for each of `hosts`, the variables `names` as `hostvars[host]` gives them.

    A host's mapping is a dict of those of `names` that set_fact or register left on it, when that is the whole answer:
    nothing set_fact or register leaves can be shadowed but by an extra var, and for a name they did not leave, neither
    include_vars nor the fact cache has one. Otherwise, and for every host when `hostvars` is not Ansible's (a dict in
    a test), it is `hostvars[host]` itself. `names` are facts that set_fact or register give, not inventory variables:
    a name neither set nor cached is taken as undefined, without looking for it in the inventory.
    """
    stores = _ansible_stores(hostvars)
    if stores is None or any(name in stores[3] for name in names):
        return dict((host, hostvars[host]) for host in hosts)
    set_by_host, included_by_host, fact_cache, _extra_vars = stores
    found = {}
    for host in hosts:
        # .get: the store is a defaultdict, which a lookup of a host without facts would change.
        facts = set_by_host.get(host) or {}
        mapping = dict((name, facts[name]) for name in names if name in facts)
        if len(mapping) < len(names):
            missing = [name for name in names if name not in mapping]
            included, cached = included_by_host.get(host) or {}, _cached(fact_cache, host)
            if any(name in included or name in cached for name in missing):
                mapping = hostvars[host]
        found[host] = mapping
    return found


def upgrade_facts(hostvars, hosts):
    """{host: what os_upgrade's summary, report and failure read of it}: its UPGRADE_FACTS, and for a host the role left
    nothing on (named_by_inventory) hostvars[host], whose prewarm_node_name and prewarm_pool name its row."""
    facts = set_facts(hostvars, hosts, UPGRADE_FACTS)
    return dict((host, hostvars[host] if named_by_inventory(facts[host]) else facts[host]) for host in hosts)


def group_hosts(task_vars, group):
    """The hosts of an inventory group, as an action's task_vars give them ([] for no such group). Read by the action,
    not passed as an argument: thousands of host names take a tenth of a second to template and validate."""
    return list((task_vars.get("groups") or {}).get(group) or [])


def upgrade_report_input(hostvars, hosts):
    """(rows, timelines) of an os_upgrade run's report, from its node hosts (window_report's `hosts`)."""
    hosts = list(hosts)
    facts = upgrade_facts(hostvars, hosts)
    return upgrade_rows(hosts, facts), upgrade_timelines(hosts, facts)
