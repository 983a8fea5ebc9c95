"""Why a module was refused. `code` matches the Node host's LoadError codes; the message is one line."""


class LoadError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
