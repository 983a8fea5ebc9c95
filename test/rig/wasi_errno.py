"""WASI preview1 errno values the rig returns (witx `errno` enum order), as docs/ABI.md lists them."""


class Errno:
    SUCCESS = 0
    AGAIN = 6
    BADF = 8
    BUSY = 10
    CANCELED = 11
    EXIST = 20
    FAULT = 21
    INVAL = 28
    IO = 29
    ISDIR = 31
    NAMETOOLONG = 37
    NOENT = 44
    NOSYS = 52
    NOTDIR = 54
    NOTSUP = 58
    NXIO = 60
    ROFS = 69
    SPIPE = 70
    TIMEDOUT = 73
    NOTCAPABLE = 76
