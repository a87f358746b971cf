from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UserAppLogLine(_message.Message):
    __slots__ = ("timestamp_usec", "level", "message")
    TIMESTAMP_USEC_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    timestamp_usec: int
    level: int
    message: bytes
    def __init__(self, timestamp_usec: _Optional[int] = ..., level: _Optional[int] = ..., message: _Optional[bytes] = ...) -> None: ...

class UserAppLogGroup(_message.Message):
    __slots__ = ("log_line",)
    LOG_LINE_FIELD_NUMBER: _ClassVar[int]
    log_line: _containers.RepeatedCompositeFieldContainer[UserAppLogLine]
    def __init__(self, log_line: _Optional[_Iterable[_Union[UserAppLogLine, _Mapping]]] = ...) -> None: ...

class FlushRequest(_message.Message):
    __slots__ = ("logs",)
    LOGS_FIELD_NUMBER: _ClassVar[int]
    logs: bytes
    def __init__(self, logs: _Optional[bytes] = ...) -> None: ...

class VoidProto(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
