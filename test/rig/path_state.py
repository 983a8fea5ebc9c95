"""Path states, numbered as libmultipath numbers them (docs/ABI.md "Path states")."""

WILD = 0
UNCHECKED = 1
DOWN = 2
UP = 3
SHAKY = 4
GHOST = 5
PENDING = 6
TIMEOUT = 7
REMOVED = 8
DELAYED = 9
DISCONNECTED = 10

NAMES = ('wild', 'unchecked', 'down', 'up', 'shaky', 'ghost', 'pending', 'timeout', 'removed', 'delayed', 'disconnected')


def is_path_state(n: int) -> bool:
    return 0 <= n < len(NAMES)


def state_name(state: int) -> str:
    return NAMES[state]
