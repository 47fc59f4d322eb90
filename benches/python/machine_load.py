"""How busy the rest of the machine was while a measurement ran (Linux).

The benchmarks here compare 2 threads or 2 processes against 1 on a 2-core
machine that other jobs share. A ratio measured while another job held a
core says nothing about speechfront, so each timed round also records the
CPU the *other* processes used meanwhile: the machine's busy time from
/proc/stat minus this benchmark's own (its process and, for Dask, its
worker processes), in cores (0 = the rest of the machine idle, 2 = both
cores taken). Clock ticks are 10 ms, so a round should last at least a few
tenths of a second for the figure to mean much.
"""

import os

TICK = os.sysconf("SC_CLK_TCK")


def machine_busy_s():
    """CPU seconds the whole machine has spent busy since boot (all cores)."""
    with open("/proc/stat") as f:
        cpu = f.readline().split()
    # user nice system idle iowait irq softirq steal guest guest_nice
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in cpu[1:9])
    return (user + nice + system + irq + softirq + steal) / TICK


def process_cpu_s(pids):
    """CPU seconds (user + system) of the given live processes, all threads."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


class Others:
    """CPU used by everything but `pids()` between start() and stop(), in cores."""

    def __init__(self, pids=lambda: [os.getpid()]):
        self.pids = pids

    def start(self, wall_now):
        self._t, self._busy, self._own = wall_now, machine_busy_s(), process_cpu_s(self.pids())

    def stop(self, wall_now):
        wall = wall_now - self._t
        others = (machine_busy_s() - self._busy) - (process_cpu_s(self.pids()) - self._own)
        return max(others, 0.0) / wall if wall > 0 else 0.0
