"""Separations a kernel cannot pass (``../shared/SEPARATIONS.md`` in the book's protocol).

Two kinds of test for every claim that the network does what kernels cannot:

- **kernel substitution**: the chapter's check, handed the kernel's numbers in the network's place (from a small
  run, or the same run with the methods swapped), must fail;
- **positive control**: every baseline a separation leans on reaches the error theory gives it where it should,
  so a baseline that quietly loses capacity or tuning turns a test red.
"""

from __future__ import annotations

# --- good directions (paired n* ratio) -------------------------------------------------------------------------


# --- one step ----------------------------------------------------------------------------------------------------


# --- kernel regime -----------------------------------------------------------------------------------------------
