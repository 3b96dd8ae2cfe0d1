import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_UNSPECIFIED: _ClassVar[Decision]
    DECISION_ALLOWED: _ClassVar[Decision]
    DECISION_EXPLICIT_DENY: _ClassVar[Decision]
    DECISION_IMPLICIT_DENY: _ClassVar[Decision]

class PolicyType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POLICY_TYPE_UNSPECIFIED: _ClassVar[PolicyType]
    POLICY_TYPE_SERVICE_CONTROL: _ClassVar[PolicyType]
    POLICY_TYPE_RESOURCE: _ClassVar[PolicyType]
    POLICY_TYPE_IDENTITY: _ClassVar[PolicyType]
    POLICY_TYPE_PERMISSIONS_BOUNDARY: _ClassVar[PolicyType]
    POLICY_TYPE_SESSION: _ClassVar[PolicyType]

class Effect(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EFFECT_UNSPECIFIED: _ClassVar[Effect]
    EFFECT_ALLOW: _ClassVar[Effect]
    EFFECT_DENY: _ClassVar[Effect]

class ElementMatch(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ELEMENT_MATCH_UNSPECIFIED: _ClassVar[ElementMatch]
    ELEMENT_MATCH_MATCHED: _ClassVar[ElementMatch]
    ELEMENT_MATCH_NOT_MATCHED: _ClassVar[ElementMatch]
    ELEMENT_MATCH_NOT_EVALUATED: _ClassVar[ElementMatch]

class ContextKeyType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTEXT_KEY_TYPE_UNSPECIFIED: _ClassVar[ContextKeyType]
    CONTEXT_KEY_TYPE_STRING: _ClassVar[ContextKeyType]
    CONTEXT_KEY_TYPE_STRING_LIST: _ClassVar[ContextKeyType]
    CONTEXT_KEY_TYPE_NUMERIC: _ClassVar[ContextKeyType]
    CONTEXT_KEY_TYPE_NUMERIC_LIST: _ClassVar[ContextKeyType]
    CONTEXT_KEY_TYPE_BOOLEAN: _ClassVar[ContextKeyType]
    CONTEXT_KEY_TYPE_BOOLEAN_LIST: _ClassVar[ContextKeyType]
    CONTEXT_KEY_TYPE_IP: _ClassVar[ContextKeyType]
    CONTEXT_KEY_TYPE_IP_LIST: _ClassVar[ContextKeyType]
    CONTEXT_KEY_TYPE_BINARY: _ClassVar[ContextKeyType]
    CONTEXT_KEY_TYPE_BINARY_LIST: _ClassVar[ContextKeyType]
    CONTEXT_KEY_TYPE_DATE: _ClassVar[ContextKeyType]
    CONTEXT_KEY_TYPE_DATE_LIST: _ClassVar[ContextKeyType]

class AccessStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCESS_STATUS_UNSPECIFIED: _ClassVar[AccessStatus]
    ACCESS_STATUS_ALLOWED: _ClassVar[AccessStatus]
    ACCESS_STATUS_CONDITIONAL: _ClassVar[AccessStatus]
DECISION_UNSPECIFIED: Decision
DECISION_ALLOWED: Decision
DECISION_EXPLICIT_DENY: Decision
DECISION_IMPLICIT_DENY: Decision
POLICY_TYPE_UNSPECIFIED: PolicyType
POLICY_TYPE_SERVICE_CONTROL: PolicyType
POLICY_TYPE_RESOURCE: PolicyType
POLICY_TYPE_IDENTITY: PolicyType
POLICY_TYPE_PERMISSIONS_BOUNDARY: PolicyType
POLICY_TYPE_SESSION: PolicyType
EFFECT_UNSPECIFIED: Effect
EFFECT_ALLOW: Effect
EFFECT_DENY: Effect
ELEMENT_MATCH_UNSPECIFIED: ElementMatch
ELEMENT_MATCH_MATCHED: ElementMatch
ELEMENT_MATCH_NOT_MATCHED: ElementMatch
ELEMENT_MATCH_NOT_EVALUATED: ElementMatch
CONTEXT_KEY_TYPE_UNSPECIFIED: ContextKeyType
CONTEXT_KEY_TYPE_STRING: ContextKeyType
CONTEXT_KEY_TYPE_STRING_LIST: ContextKeyType
CONTEXT_KEY_TYPE_NUMERIC: ContextKeyType
CONTEXT_KEY_TYPE_NUMERIC_LIST: ContextKeyType
CONTEXT_KEY_TYPE_BOOLEAN: ContextKeyType
CONTEXT_KEY_TYPE_BOOLEAN_LIST: ContextKeyType
CONTEXT_KEY_TYPE_IP: ContextKeyType
CONTEXT_KEY_TYPE_IP_LIST: ContextKeyType
CONTEXT_KEY_TYPE_BINARY: ContextKeyType
CONTEXT_KEY_TYPE_BINARY_LIST: ContextKeyType
CONTEXT_KEY_TYPE_DATE: ContextKeyType
CONTEXT_KEY_TYPE_DATE_LIST: ContextKeyType
ACCESS_STATUS_UNSPECIFIED: AccessStatus
ACCESS_STATUS_ALLOWED: AccessStatus
ACCESS_STATUS_CONDITIONAL: AccessStatus

class ContextValue(_message.Message):
    __slots__ = ("string_value", "number_value", "bool_value", "date_value", "date_text", "ip_value", "binary_value")
    STRING_VALUE_FIELD_NUMBER: _ClassVar[int]
    NUMBER_VALUE_FIELD_NUMBER: _ClassVar[int]
    BOOL_VALUE_FIELD_NUMBER: _ClassVar[int]
    DATE_VALUE_FIELD_NUMBER: _ClassVar[int]
    DATE_TEXT_FIELD_NUMBER: _ClassVar[int]
    IP_VALUE_FIELD_NUMBER: _ClassVar[int]
    BINARY_VALUE_FIELD_NUMBER: _ClassVar[int]
    string_value: str
    number_value: float
    bool_value: bool
    date_value: _timestamp_pb2.Timestamp
    date_text: str
    ip_value: str
    binary_value: bytes
    def __init__(self, string_value: _Optional[str] = ..., number_value: _Optional[float] = ..., bool_value: _Optional[bool] = ..., date_value: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., date_text: _Optional[str] = ..., ip_value: _Optional[str] = ..., binary_value: _Optional[bytes] = ...) -> None: ...

class ContextEntry(_message.Message):
    __slots__ = ("key", "values", "multi_valued")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    MULTI_VALUED_FIELD_NUMBER: _ClassVar[int]
    key: str
    values: _containers.RepeatedCompositeFieldContainer[ContextValue]
    multi_valued: bool
    def __init__(self, key: _Optional[str] = ..., values: _Optional[_Iterable[_Union[ContextValue, _Mapping]]] = ..., multi_valued: _Optional[bool] = ...) -> None: ...

class SessionTag(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: str
    def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class AuthorizeRequest(_message.Message):
    __slots__ = ("principal", "action", "resource", "context", "session_policy", "request_id", "session_tags")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_POLICY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_TAGS_FIELD_NUMBER: _ClassVar[int]
    principal: str
    action: str
    resource: str
    context: _containers.RepeatedCompositeFieldContainer[ContextEntry]
    session_policy: str
    request_id: str
    session_tags: _containers.RepeatedCompositeFieldContainer[SessionTag]
    def __init__(self, principal: _Optional[str] = ..., action: _Optional[str] = ..., resource: _Optional[str] = ..., context: _Optional[_Iterable[_Union[ContextEntry, _Mapping]]] = ..., session_policy: _Optional[str] = ..., request_id: _Optional[str] = ..., session_tags: _Optional[_Iterable[_Union[SessionTag, _Mapping]]] = ...) -> None: ...

class StatementRef(_message.Message):
    __slots__ = ("policy_id", "policy_type", "sid", "index")
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_TYPE_FIELD_NUMBER: _ClassVar[int]
    SID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    policy_id: str
    policy_type: PolicyType
    sid: str
    index: int
    def __init__(self, policy_id: _Optional[str] = ..., policy_type: _Optional[_Union[PolicyType, str]] = ..., sid: _Optional[str] = ..., index: _Optional[int] = ...) -> None: ...

class AuthorizeResponse(_message.Message):
    __slots__ = ("decision", "revision", "decision_id", "determining_statements", "message", "filled_context_keys", "missing_context_keys", "principal_arn", "request_id", "denied_by", "hints")
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    DECISION_ID_FIELD_NUMBER: _ClassVar[int]
    DETERMINING_STATEMENTS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FILLED_CONTEXT_KEYS_FIELD_NUMBER: _ClassVar[int]
    MISSING_CONTEXT_KEYS_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_ARN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DENIED_BY_FIELD_NUMBER: _ClassVar[int]
    HINTS_FIELD_NUMBER: _ClassVar[int]
    decision: Decision
    revision: str
    decision_id: str
    determining_statements: _containers.RepeatedCompositeFieldContainer[StatementRef]
    message: str
    filled_context_keys: _containers.RepeatedScalarFieldContainer[str]
    missing_context_keys: _containers.RepeatedScalarFieldContainer[str]
    principal_arn: str
    request_id: str
    denied_by: PolicyType
    hints: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, decision: _Optional[_Union[Decision, str]] = ..., revision: _Optional[str] = ..., decision_id: _Optional[str] = ..., determining_statements: _Optional[_Iterable[_Union[StatementRef, _Mapping]]] = ..., message: _Optional[str] = ..., filled_context_keys: _Optional[_Iterable[str]] = ..., missing_context_keys: _Optional[_Iterable[str]] = ..., principal_arn: _Optional[str] = ..., request_id: _Optional[str] = ..., denied_by: _Optional[_Union[PolicyType, str]] = ..., hints: _Optional[_Iterable[str]] = ...) -> None: ...

class AuthorizeBatchRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[AuthorizeRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[AuthorizeRequest, _Mapping]]] = ...) -> None: ...

class AuthorizeManyRequest(_message.Message):
    __slots__ = ("principal", "context", "session_policy", "session_tags", "items")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_POLICY_FIELD_NUMBER: _ClassVar[int]
    SESSION_TAGS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    principal: str
    context: _containers.RepeatedCompositeFieldContainer[ContextEntry]
    session_policy: str
    session_tags: _containers.RepeatedCompositeFieldContainer[SessionTag]
    items: _containers.RepeatedCompositeFieldContainer[ActionOnResource]
    def __init__(self, principal: _Optional[str] = ..., context: _Optional[_Iterable[_Union[ContextEntry, _Mapping]]] = ..., session_policy: _Optional[str] = ..., session_tags: _Optional[_Iterable[_Union[SessionTag, _Mapping]]] = ..., items: _Optional[_Iterable[_Union[ActionOnResource, _Mapping]]] = ...) -> None: ...

class ActionOnResource(_message.Message):
    __slots__ = ("action", "resource", "request_id")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    action: str
    resource: str
    request_id: str
    def __init__(self, action: _Optional[str] = ..., resource: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class AuthorizeBatchResult(_message.Message):
    __slots__ = ("response", "error")
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    response: AuthorizeResponse
    error: ItemError
    def __init__(self, response: _Optional[_Union[AuthorizeResponse, _Mapping]] = ..., error: _Optional[_Union[ItemError, _Mapping]] = ...) -> None: ...

class AuthorizeBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[AuthorizeBatchResult]
    def __init__(self, results: _Optional[_Iterable[_Union[AuthorizeBatchResult, _Mapping]]] = ...) -> None: ...

class ExplainRequest(_message.Message):
    __slots__ = ("principal", "action", "resource", "context", "session_policy", "request_id", "session_tags")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SESSION_POLICY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_TAGS_FIELD_NUMBER: _ClassVar[int]
    principal: str
    action: str
    resource: str
    context: _containers.RepeatedCompositeFieldContainer[ContextEntry]
    session_policy: str
    request_id: str
    session_tags: _containers.RepeatedCompositeFieldContainer[SessionTag]
    def __init__(self, principal: _Optional[str] = ..., action: _Optional[str] = ..., resource: _Optional[str] = ..., context: _Optional[_Iterable[_Union[ContextEntry, _Mapping]]] = ..., session_policy: _Optional[str] = ..., request_id: _Optional[str] = ..., session_tags: _Optional[_Iterable[_Union[SessionTag, _Mapping]]] = ...) -> None: ...

class ConditionTrace(_message.Message):
    __slots__ = ("operator", "key", "policy_values", "request_values", "key_present", "matched", "note")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    POLICY_VALUES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_VALUES_FIELD_NUMBER: _ClassVar[int]
    KEY_PRESENT_FIELD_NUMBER: _ClassVar[int]
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    operator: str
    key: str
    policy_values: _containers.RepeatedScalarFieldContainer[str]
    request_values: _containers.RepeatedScalarFieldContainer[str]
    key_present: bool
    matched: bool
    note: str
    def __init__(self, operator: _Optional[str] = ..., key: _Optional[str] = ..., policy_values: _Optional[_Iterable[str]] = ..., request_values: _Optional[_Iterable[str]] = ..., key_present: _Optional[bool] = ..., matched: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class StatementTrace(_message.Message):
    __slots__ = ("statement", "effect", "action", "resource", "principal", "conditions", "applies", "note")
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    EFFECT_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    APPLIES_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    statement: StatementRef
    effect: Effect
    action: ElementMatch
    resource: ElementMatch
    principal: ElementMatch
    conditions: _containers.RepeatedCompositeFieldContainer[ConditionTrace]
    applies: bool
    note: str
    def __init__(self, statement: _Optional[_Union[StatementRef, _Mapping]] = ..., effect: _Optional[_Union[Effect, str]] = ..., action: _Optional[_Union[ElementMatch, str]] = ..., resource: _Optional[_Union[ElementMatch, str]] = ..., principal: _Optional[_Union[ElementMatch, str]] = ..., conditions: _Optional[_Iterable[_Union[ConditionTrace, _Mapping]]] = ..., applies: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class PolicyTrace(_message.Message):
    __slots__ = ("policy_id", "policy_type", "statements", "scp_level")
    POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    POLICY_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATEMENTS_FIELD_NUMBER: _ClassVar[int]
    SCP_LEVEL_FIELD_NUMBER: _ClassVar[int]
    policy_id: str
    policy_type: PolicyType
    statements: _containers.RepeatedCompositeFieldContainer[StatementTrace]
    scp_level: int
    def __init__(self, policy_id: _Optional[str] = ..., policy_type: _Optional[_Union[PolicyType, str]] = ..., statements: _Optional[_Iterable[_Union[StatementTrace, _Mapping]]] = ..., scp_level: _Optional[int] = ...) -> None: ...

class ExplainResponse(_message.Message):
    __slots__ = ("result", "policies", "trace_id")
    RESULT_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    result: AuthorizeResponse
    policies: _containers.RepeatedCompositeFieldContainer[PolicyTrace]
    trace_id: str
    def __init__(self, result: _Optional[_Union[AuthorizeResponse, _Mapping]] = ..., policies: _Optional[_Iterable[_Union[PolicyTrace, _Mapping]]] = ..., trace_id: _Optional[str] = ...) -> None: ...

class SimulateContextEntry(_message.Message):
    __slots__ = ("context_key_name", "context_key_values", "context_key_type")
    CONTEXT_KEY_NAME_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_KEY_VALUES_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_KEY_TYPE_FIELD_NUMBER: _ClassVar[int]
    context_key_name: str
    context_key_values: _containers.RepeatedScalarFieldContainer[str]
    context_key_type: ContextKeyType
    def __init__(self, context_key_name: _Optional[str] = ..., context_key_values: _Optional[_Iterable[str]] = ..., context_key_type: _Optional[_Union[ContextKeyType, str]] = ...) -> None: ...

class PolicyLevel(_message.Message):
    __slots__ = ("policies",)
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    policies: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, policies: _Optional[_Iterable[str]] = ...) -> None: ...

class SimulateRequest(_message.Message):
    __slots__ = ("policy_input_list", "permissions_boundary_policy_input_list", "action_names", "resource_arns", "resource_policy", "resource_owner", "caller_arn", "context_entries", "service_control_policy_levels", "session_policy_list")
    POLICY_INPUT_LIST_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_BOUNDARY_POLICY_INPUT_LIST_FIELD_NUMBER: _ClassVar[int]
    ACTION_NAMES_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ARNS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_POLICY_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_OWNER_FIELD_NUMBER: _ClassVar[int]
    CALLER_ARN_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    SERVICE_CONTROL_POLICY_LEVELS_FIELD_NUMBER: _ClassVar[int]
    SESSION_POLICY_LIST_FIELD_NUMBER: _ClassVar[int]
    policy_input_list: _containers.RepeatedScalarFieldContainer[str]
    permissions_boundary_policy_input_list: _containers.RepeatedScalarFieldContainer[str]
    action_names: _containers.RepeatedScalarFieldContainer[str]
    resource_arns: _containers.RepeatedScalarFieldContainer[str]
    resource_policy: str
    resource_owner: str
    caller_arn: str
    context_entries: _containers.RepeatedCompositeFieldContainer[SimulateContextEntry]
    service_control_policy_levels: _containers.RepeatedCompositeFieldContainer[PolicyLevel]
    session_policy_list: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, policy_input_list: _Optional[_Iterable[str]] = ..., permissions_boundary_policy_input_list: _Optional[_Iterable[str]] = ..., action_names: _Optional[_Iterable[str]] = ..., resource_arns: _Optional[_Iterable[str]] = ..., resource_policy: _Optional[str] = ..., resource_owner: _Optional[str] = ..., caller_arn: _Optional[str] = ..., context_entries: _Optional[_Iterable[_Union[SimulateContextEntry, _Mapping]]] = ..., service_control_policy_levels: _Optional[_Iterable[_Union[PolicyLevel, _Mapping]]] = ..., session_policy_list: _Optional[_Iterable[str]] = ...) -> None: ...

class EvaluationResult(_message.Message):
    __slots__ = ("eval_action_name", "eval_resource_name", "eval_decision", "matched_statements", "missing_context_values")
    EVAL_ACTION_NAME_FIELD_NUMBER: _ClassVar[int]
    EVAL_RESOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    EVAL_DECISION_FIELD_NUMBER: _ClassVar[int]
    MATCHED_STATEMENTS_FIELD_NUMBER: _ClassVar[int]
    MISSING_CONTEXT_VALUES_FIELD_NUMBER: _ClassVar[int]
    eval_action_name: str
    eval_resource_name: str
    eval_decision: Decision
    matched_statements: _containers.RepeatedCompositeFieldContainer[StatementRef]
    missing_context_values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, eval_action_name: _Optional[str] = ..., eval_resource_name: _Optional[str] = ..., eval_decision: _Optional[_Union[Decision, str]] = ..., matched_statements: _Optional[_Iterable[_Union[StatementRef, _Mapping]]] = ..., missing_context_values: _Optional[_Iterable[str]] = ...) -> None: ...

class SimulateResponse(_message.Message):
    __slots__ = ("evaluation_results",)
    EVALUATION_RESULTS_FIELD_NUMBER: _ClassVar[int]
    evaluation_results: _containers.RepeatedCompositeFieldContainer[EvaluationResult]
    def __init__(self, evaluation_results: _Optional[_Iterable[_Union[EvaluationResult, _Mapping]]] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ("max_disagreements",)
    MAX_DISAGREEMENTS_FIELD_NUMBER: _ClassVar[int]
    max_disagreements: int
    def __init__(self, max_disagreements: _Optional[int] = ...) -> None: ...

class BundleCounts(_message.Message):
    __slots__ = ("principals", "policies", "statements")
    PRINCIPALS_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    STATEMENTS_FIELD_NUMBER: _ClassVar[int]
    principals: int
    policies: int
    statements: int
    def __init__(self, principals: _Optional[int] = ..., policies: _Optional[int] = ..., statements: _Optional[int] = ...) -> None: ...

class BundleInfo(_message.Message):
    __slots__ = ("name", "revision", "source", "activated_at", "counts")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ACTIVATED_AT_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    revision: str
    source: str
    activated_at: _timestamp_pb2.Timestamp
    counts: BundleCounts
    def __init__(self, name: _Optional[str] = ..., revision: _Optional[str] = ..., source: _Optional[str] = ..., activated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., counts: _Optional[_Union[BundleCounts, _Mapping]] = ...) -> None: ...

class LoadError(_message.Message):
    __slots__ = ("message", "occurred_at", "source", "step")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    message: str
    occurred_at: _timestamp_pb2.Timestamp
    source: str
    step: str
    def __init__(self, message: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., step: _Optional[str] = ...) -> None: ...

class ShadowDisagreement(_message.Message):
    __slots__ = ("principal", "action", "resource", "occurred_at", "active", "shadow")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    SHADOW_FIELD_NUMBER: _ClassVar[int]
    principal: str
    action: str
    resource: str
    occurred_at: _timestamp_pb2.Timestamp
    active: ExplainResponse
    shadow: ExplainResponse
    def __init__(self, principal: _Optional[str] = ..., action: _Optional[str] = ..., resource: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., active: _Optional[_Union[ExplainResponse, _Mapping]] = ..., shadow: _Optional[_Union[ExplainResponse, _Mapping]] = ...) -> None: ...

class ShadowStats(_message.Message):
    __slots__ = ("evaluated", "agreed", "disagreed", "errors", "last_error", "recent", "access_diff")
    EVALUATED_FIELD_NUMBER: _ClassVar[int]
    AGREED_FIELD_NUMBER: _ClassVar[int]
    DISAGREED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    RECENT_FIELD_NUMBER: _ClassVar[int]
    ACCESS_DIFF_FIELD_NUMBER: _ClassVar[int]
    evaluated: int
    agreed: int
    disagreed: int
    errors: int
    last_error: str
    recent: _containers.RepeatedCompositeFieldContainer[ShadowDisagreement]
    access_diff: ShadowAccessDiff
    def __init__(self, evaluated: _Optional[int] = ..., agreed: _Optional[int] = ..., disagreed: _Optional[int] = ..., errors: _Optional[int] = ..., last_error: _Optional[str] = ..., recent: _Optional[_Iterable[_Union[ShadowDisagreement, _Mapping]]] = ..., access_diff: _Optional[_Union[ShadowAccessDiff, _Mapping]] = ...) -> None: ...

class ShadowAccessDiff(_message.Message):
    __slots__ = ("state", "active_revision", "added", "removed", "widened", "narrowed", "principals", "principals_omitted", "truncated", "evaluations", "error", "computed_at")
    STATE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_REVISION_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    WIDENED_FIELD_NUMBER: _ClassVar[int]
    NARROWED_FIELD_NUMBER: _ClassVar[int]
    PRINCIPALS_FIELD_NUMBER: _ClassVar[int]
    PRINCIPALS_OMITTED_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    EVALUATIONS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_AT_FIELD_NUMBER: _ClassVar[int]
    state: str
    active_revision: str
    added: int
    removed: int
    widened: int
    narrowed: int
    principals: _containers.RepeatedCompositeFieldContainer[PrincipalAccessChanges]
    principals_omitted: int
    truncated: bool
    evaluations: int
    error: str
    computed_at: _timestamp_pb2.Timestamp
    def __init__(self, state: _Optional[str] = ..., active_revision: _Optional[str] = ..., added: _Optional[int] = ..., removed: _Optional[int] = ..., widened: _Optional[int] = ..., narrowed: _Optional[int] = ..., principals: _Optional[_Iterable[_Union[PrincipalAccessChanges, _Mapping]]] = ..., principals_omitted: _Optional[int] = ..., truncated: _Optional[bool] = ..., evaluations: _Optional[int] = ..., error: _Optional[str] = ..., computed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PrincipalAccessChanges(_message.Message):
    __slots__ = ("principal", "added", "removed", "widened", "narrowed")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    WIDENED_FIELD_NUMBER: _ClassVar[int]
    NARROWED_FIELD_NUMBER: _ClassVar[int]
    principal: str
    added: int
    removed: int
    widened: int
    narrowed: int
    def __init__(self, principal: _Optional[str] = ..., added: _Optional[int] = ..., removed: _Optional[int] = ..., widened: _Optional[int] = ..., narrowed: _Optional[int] = ...) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("active", "previous_revision", "last_error", "shadow", "admin_enabled", "server_version", "previous", "shadow_stats", "shadow_error", "activations", "rejections", "persist_error", "trusted_context_keys", "worker", "catalogue_version", "access_queries_enabled")
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_REVISION_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    SHADOW_FIELD_NUMBER: _ClassVar[int]
    ADMIN_ENABLED_FIELD_NUMBER: _ClassVar[int]
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    SHADOW_STATS_FIELD_NUMBER: _ClassVar[int]
    SHADOW_ERROR_FIELD_NUMBER: _ClassVar[int]
    ACTIVATIONS_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    PERSIST_ERROR_FIELD_NUMBER: _ClassVar[int]
    TRUSTED_CONTEXT_KEYS_FIELD_NUMBER: _ClassVar[int]
    WORKER_FIELD_NUMBER: _ClassVar[int]
    CATALOGUE_VERSION_FIELD_NUMBER: _ClassVar[int]
    ACCESS_QUERIES_ENABLED_FIELD_NUMBER: _ClassVar[int]
    active: BundleInfo
    previous_revision: str
    last_error: LoadError
    shadow: BundleInfo
    admin_enabled: bool
    server_version: str
    previous: BundleInfo
    shadow_stats: ShadowStats
    shadow_error: LoadError
    activations: int
    rejections: int
    persist_error: str
    trusted_context_keys: _containers.RepeatedScalarFieldContainer[str]
    worker: WorkerInfo
    catalogue_version: str
    access_queries_enabled: bool
    def __init__(self, active: _Optional[_Union[BundleInfo, _Mapping]] = ..., previous_revision: _Optional[str] = ..., last_error: _Optional[_Union[LoadError, _Mapping]] = ..., shadow: _Optional[_Union[BundleInfo, _Mapping]] = ..., admin_enabled: _Optional[bool] = ..., server_version: _Optional[str] = ..., previous: _Optional[_Union[BundleInfo, _Mapping]] = ..., shadow_stats: _Optional[_Union[ShadowStats, _Mapping]] = ..., shadow_error: _Optional[_Union[LoadError, _Mapping]] = ..., activations: _Optional[int] = ..., rejections: _Optional[int] = ..., persist_error: _Optional[str] = ..., trusted_context_keys: _Optional[_Iterable[str]] = ..., worker: _Optional[_Union[WorkerInfo, _Mapping]] = ..., catalogue_version: _Optional[str] = ..., access_queries_enabled: _Optional[bool] = ...) -> None: ...

class WorkerInfo(_message.Message):
    __slots__ = ("index", "count", "pid")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    index: int
    count: int
    pid: int
    def __init__(self, index: _Optional[int] = ..., count: _Optional[int] = ..., pid: _Optional[int] = ...) -> None: ...

class RollbackRequest(_message.Message):
    __slots__ = ("expected_revision",)
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    expected_revision: str
    def __init__(self, expected_revision: _Optional[str] = ...) -> None: ...

class RollbackResponse(_message.Message):
    __slots__ = ("active_revision", "rolled_back_revision")
    ACTIVE_REVISION_FIELD_NUMBER: _ClassVar[int]
    ROLLED_BACK_REVISION_FIELD_NUMBER: _ClassVar[int]
    active_revision: str
    rolled_back_revision: str
    def __init__(self, active_revision: _Optional[str] = ..., rolled_back_revision: _Optional[str] = ...) -> None: ...

class AccessGrant(_message.Message):
    __slots__ = ("principal", "action", "resource", "status", "statements", "conditions")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATEMENTS_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    principal: str
    action: str
    resource: str
    status: AccessStatus
    statements: _containers.RepeatedScalarFieldContainer[str]
    conditions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, principal: _Optional[str] = ..., action: _Optional[str] = ..., resource: _Optional[str] = ..., status: _Optional[_Union[AccessStatus, str]] = ..., statements: _Optional[_Iterable[str]] = ..., conditions: _Optional[_Iterable[str]] = ...) -> None: ...

class WhoCanRequest(_message.Message):
    __slots__ = ("action", "resource", "page_size", "page_token")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    action: str
    resource: str
    page_size: int
    page_token: str
    def __init__(self, action: _Optional[str] = ..., resource: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class WhoCanResponse(_message.Message):
    __slots__ = ("revision", "grants", "next_page_token", "truncated", "evaluations", "notes", "total")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    EVALUATIONS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    revision: str
    grants: _containers.RepeatedCompositeFieldContainer[AccessGrant]
    next_page_token: str
    truncated: bool
    evaluations: int
    notes: _containers.RepeatedScalarFieldContainer[str]
    total: int
    def __init__(self, revision: _Optional[str] = ..., grants: _Optional[_Iterable[_Union[AccessGrant, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., truncated: _Optional[bool] = ..., evaluations: _Optional[int] = ..., notes: _Optional[_Iterable[str]] = ..., total: _Optional[int] = ...) -> None: ...

class WhatCanRequest(_message.Message):
    __slots__ = ("principal", "service", "page_size", "page_token")
    PRINCIPAL_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    principal: str
    service: str
    page_size: int
    page_token: str
    def __init__(self, principal: _Optional[str] = ..., service: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class WhatCanResponse(_message.Message):
    __slots__ = ("revision", "grants", "next_page_token", "truncated", "evaluations", "notes", "total")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    GRANTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    EVALUATIONS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    revision: str
    grants: _containers.RepeatedCompositeFieldContainer[AccessGrant]
    next_page_token: str
    truncated: bool
    evaluations: int
    notes: _containers.RepeatedScalarFieldContainer[str]
    total: int
    def __init__(self, revision: _Optional[str] = ..., grants: _Optional[_Iterable[_Union[AccessGrant, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., truncated: _Optional[bool] = ..., evaluations: _Optional[int] = ..., notes: _Optional[_Iterable[str]] = ..., total: _Optional[int] = ...) -> None: ...
