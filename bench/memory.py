"""Peak resident memory of this process, in MB.

Linux's ``/proc/self/status`` ``VmHWM`` is the peak of the current address space, reset by
``exec``. ``resource.getrusage(...).ru_maxrss`` is the fallback elsewhere; on Linux it is carried
over from the parent across fork and exec, so a worker started by a parent that had generated a
large organization would report the parent's peak instead of its own.
"""

from __future__ import annotations

import resource
from pathlib import Path

_STATUS = Path("/proc/self/status")


def peak_rss_mb() -> float:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
