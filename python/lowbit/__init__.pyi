from ._lowbit import *
from ._lowbit import __version__ as __version__
