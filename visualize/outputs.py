"""The output rule of :mod:`chainrule.outputs`, under the name visualize and the CLI use.

The rule itself (regular files only, symbolic links followed, atomic
replacement, missing folders created, one-line messages) lives in
:mod:`chainrule.outputs` so that ``nn`` (``model.save``) and ``visualize``
(``render``, pages) share one implementation without importing each other.
"""

from __future__ import annotations

from chainrule.outputs import (
    OutputPathError,
    describe_os_error,
    output_dir,
    output_file,
    write_file,
)

__all__ = ["OutputPathError", "describe_os_error", "output_dir", "output_file", "write_file"]
