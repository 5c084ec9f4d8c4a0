"""The former name of `s2s_zoo.serving`, kept so that existing imports
(`from s2s_zoo import export`) keep working; new code imports
`s2s_zoo.serving` (modules) or `s2s_zoo.io` (atomic files)."""

from s2s_zoo.serving import *  # noqa: F401,F403
from s2s_zoo.serving import __all__  # noqa: F401
