"""The reproduction run: every demonstration of the document at its own scale, with its figures and ledgers.

Command line: ``python -m reference.reproduction`` (``reference.reproduction.cli``). Importing this
package is cheap (no TensorFlow); ``write_index`` can be called by any command that writes a report.
"""

from reference.reproduction.index import write_index
from reference.reproduction.scale import FULL, QUICK, SECTION_NAMES, Scale

__all__ = ["FULL", "QUICK", "SECTION_NAMES", "Scale", "write_index"]
