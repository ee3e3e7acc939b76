//! GC error codes (data sheet §6, delivered by O-002 `Error` events) with the expected
//! client behaviour, and the suggested user messages of §7.
//!
//! The code set is open (Finesse has more codes than the table): unknown codes are kept
//! as [`ErrorCode::Other`].

use serde::{Deserialize, Serialize};

use super::event::open_enum;

open_enum! {
    /// An error code from an O-002 `Error` event.
    ErrorCode {
        /// Called device invalid (Finesse).
        CfInvalidCalledDevice = "CF_INVALID_CALLED_DEVICE",
        /// Calling device invalid (Finesse).
        CfInvalidCallingDevice = "CF_INVALID_CALLING_DEVICE",
        /// Active connection ID invalid (Finesse).
        CfInvalidConnectionIdForActiveCall = "CF_INVALID_CONNECTION_ID_FOR_ACTIVE_CALL",
        /// Consult type invalid (Finesse).
        CfInvalidConsultType = "CF_INVALID_CONSULT_TYPE",
        /// Account locked (Finesse).
        CfAgentAccountLockedOut = "CF_AGENT_ACCOUNT_LOCKED_OUT",
        /// Device ID invalid (Finesse).
        CfInvalidCstaDeviceIdentifier = "CF_INVALID_CSTA_DEVICE_IDENTIFIER",
        /// Extension already in use (Finesse).
        CfResourceBusy = "CF_RESOURCE_BUSY",
        /// Invalid logon device (Finesse).
        CfInvalidLogonDeviceSpecified = "CF_INVALID_LOGON_DEVICE_SPECIFIED",
        /// Rejected without detail; reset the phone and retry (Finesse).
        CfGenericUnspecifiedRejection = "CF_GENERIC_UNSPECIFIED_REJECTION",
        /// Object in the wrong state for the request (Finesse).
        CfInvalidObjectState = "CF_INVALID_OBJECT_STATE",
        /// Invalid agent password (Finesse).
        CfInvalidPasswordSpecified = "CF_INVALID_PASSWORD_SPECIFIED",
        /// Lack of system resources (Finesse).
        CfGenericSystemResourceAvailability = "CF_GENERIC_SYSTEM_RESOURCE_AVAILABILITY",
        /// Invalid CallID (Finesse).
        ECtiInvalidCallid = "E_CTI_INVALID_CALLID",
        /// Agent ID unknown to Finesse.
        UserNotFound = "USER_NOT_FOUND",
        /// Root cause unclear (Finesse).
        GeneralError = "GENERAL_ERROR",
        /// Generic error (user-message table spelling).
        GenericError = "GENERIC_ERROR",
        /// Operation error without detail (Finesse).
        CfGenericOperation = "CF_GENERIC_OPERATION",
        /// Called an invalid extension (Finesse).
        BadDestination = "BAD_DESTINATION",
        /// Finesse gave no response; GC tries the secondary Finesse.
        Down = "DOWN",
        /// Licence limit exceeded (GC).
        LicensesExceeded = "LICENSES_EXCEEDED",
        /// Extension missing (GC).
        MissingExtension = "MISSING_EXTENSION",
        /// Number to dial missing (GC).
        MissingNumber = "MISSING_NUMBER",
        /// Password missing (GC).
        MissingPassword = "MISSING_PASSWORD",
        /// A reason code is required (GC).
        MissingReasonCode = "MISSING_REASON_CODE",
        /// Dialog unknown to GC.
        NoDialogId = "NO_DIALOG_ID",
        /// Finesse timed out; GC switches to the secondary after 2 retries.
        NotReachable = "NOT_REACHABLE",
        /// Bad parameters, I/O error or timeout (GC).
        PleaseRetry = "PLEASE_RETRY",
        /// Invalid login credentials (GC).
        SubscriptionFailed = "SUBSCRIPTION_FAILED",
        /// Invalid login credentials (GC).
        UnableToSubscribeToFinesse = "UNABLE_TO_SUBSCRIBE_TO_FINESSE",
        /// Extension not valid, e.g. contains letters (GC).
        WrongExtension = "WRONG_EXTENSION",
        /// The agent logged in from another destination; GC logged this one out.
        SessionInvalidated = "SESSION_INVALIDATED",
        /// Finesse unavailable; GC reconnects by itself (user-message table).
        FinesseUnavailable = "FINESSE_UNAVAILABLE",
    }
}

/// Who raised an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Origin {
    /// Cisco Finesse (forwarded by GC).
    Finesse,
    /// The Generic Connector itself.
    Gc,
    /// Not in the data sheet.
    Unknown,
}

/// What the data sheet expects a client to do about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Behaviour {
    /// Show the error and carry on.
    ShowAndContinue,
    /// Show the error and ask for a (valid) extension.
    AskForExtension,
    /// Show the error and ask for the login credentials.
    AskForCredentials,
    /// Show the error and ask for a number to dial.
    AskForNumber,
    /// Show the error and ask for a reason code.
    AskForReasonCode,
    /// Send `getdialogstate` for the active dialogs.
    RefreshDialogs,
    /// The session is gone: ask the agent to log in again.
    LoginAgain,
    /// Show the error; an administrator must act (licences, password, user definition).
    ContactAdmin,
    /// Wait: GC reconnects by itself.
    WaitForReconnect,
    /// The data sheet states nothing.
    NotStated,
}

impl Behaviour {
    /// True when the error means the agent's credentials or extension were refused:
    /// the client must forget them (never re-send them on its own) and ask the user.
    pub fn invalidates_credentials(self) -> bool {
        matches!(
            self,
            Behaviour::AskForCredentials | Behaviour::AskForExtension | Behaviour::ContactAdmin
        )
    }

    /// The name used in JSON (`"AskForCredentials"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Behaviour::ShowAndContinue => "ShowAndContinue",
            Behaviour::AskForExtension => "AskForExtension",
            Behaviour::AskForCredentials => "AskForCredentials",
            Behaviour::AskForNumber => "AskForNumber",
            Behaviour::AskForReasonCode => "AskForReasonCode",
            Behaviour::RefreshDialogs => "RefreshDialogs",
            Behaviour::LoginAgain => "LoginAgain",
            Behaviour::ContactAdmin => "ContactAdmin",
            Behaviour::WaitForReconnect => "WaitForReconnect",
            Behaviour::NotStated => "NotStated",
        }
    }
}

impl Origin {
    /// The name used in JSON (`"Finesse"`, `"Gc"`, `"Unknown"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Finesse => "Finesse",
            Origin::Gc => "Gc",
            Origin::Unknown => "Unknown",
        }
    }
}

impl ErrorCode {
    /// Who raises this code.
    pub fn origin(&self) -> Origin {
        use ErrorCode::*;
        match self {
            Down
            | LicensesExceeded
            | MissingExtension
            | MissingNumber
            | MissingPassword
            | MissingReasonCode
            | NoDialogId
            | NotReachable
            | PleaseRetry
            | SubscriptionFailed
            | UnableToSubscribeToFinesse
            | WrongExtension
            | SessionInvalidated
            | FinesseUnavailable
            | GenericError => Origin::Gc,
            Other(_) => Origin::Unknown,
            _ => Origin::Finesse,
        }
    }

    /// The expected client behaviour (data sheet §6, "Expected Driver Behaviour").
    pub fn behaviour(&self) -> Behaviour {
        use ErrorCode::*;
        match self {
            CfInvalidCalledDevice
            | CfInvalidCallingDevice
            | CfInvalidConnectionIdForActiveCall
            | CfInvalidConsultType
            | CfAgentAccountLockedOut
            | GeneralError
            | GenericError
            | CfGenericOperation
            | BadDestination
            | Down
            | NotReachable
            | PleaseRetry => Behaviour::ShowAndContinue,
            CfInvalidCstaDeviceIdentifier
            | CfInvalidLogonDeviceSpecified
            | MissingExtension
            | WrongExtension => Behaviour::AskForExtension,
            CfInvalidPasswordSpecified
            | SubscriptionFailed
            | UnableToSubscribeToFinesse
            | MissingPassword => Behaviour::AskForCredentials,
            LicensesExceeded | UserNotFound => Behaviour::ContactAdmin,
            MissingNumber => Behaviour::AskForNumber,
            MissingReasonCode => Behaviour::AskForReasonCode,
            NoDialogId => Behaviour::RefreshDialogs,
            SessionInvalidated => Behaviour::LoginAgain,
            FinesseUnavailable => Behaviour::WaitForReconnect,
            CfResourceBusy
            | CfGenericUnspecifiedRejection
            | CfInvalidObjectState
            | CfGenericSystemResourceAvailability
            | ECtiInvalidCallid
            | Other(_) => Behaviour::NotStated,
        }
    }

    /// A short English description (paraphrasing §6/§7).
    pub fn description(&self) -> &'static str {
        use ErrorCode::*;
        match self {
            CfInvalidCalledDevice => "the called device is invalid",
            CfInvalidCallingDevice => "the calling device is invalid",
            CfInvalidConnectionIdForActiveCall => "the active connection ID is invalid",
            CfInvalidConsultType => "the consult type is invalid",
            CfAgentAccountLockedOut => "the agent account is locked",
            CfInvalidCstaDeviceIdentifier => "the device ID is invalid",
            CfResourceBusy => "the extension is already in use",
            CfInvalidLogonDeviceSpecified => "wrong phone extension",
            CfGenericUnspecifiedRejection => "request rejected: reset the phone and retry",
            CfInvalidObjectState => "the object is in the wrong state for this request",
            CfInvalidPasswordSpecified => "invalid agent password",
            CfGenericSystemResourceAvailability => "lack of system resources",
            ECtiInvalidCallid => "invalid call ID",
            UserNotFound => "agent ID unknown to Finesse",
            GeneralError | GenericError => "generic error, retry later",
            CfGenericOperation => "the last operation failed",
            BadDestination => "invalid extension called",
            Down => "Finesse gave no response; GC tries the secondary Finesse",
            LicensesExceeded => "licence limit exceeded, contact the administrator",
            MissingExtension => "extension missing",
            MissingNumber => "number to dial missing",
            MissingPassword => "password not set, contact the administrator",
            MissingReasonCode => "a reason code is required",
            NoDialogId => "invalid operation or call not found",
            NotReachable => "Finesse not reachable; GC switches to the secondary Finesse",
            PleaseRetry => "generic error, retry later",
            SubscriptionFailed | UnableToSubscribeToFinesse => "bad login ID or password",
            WrongExtension => "the extension is not valid",
            SessionInvalidated => "logged in from another destination: log in again",
            FinesseUnavailable => "system unavailable; will reconnect automatically",
            Other(_) => "error code not in the data sheet",
        }
    }
}

/// The suggested display text for a user-message key `<event>#<value>` of §7
/// (e.g. `State#RE_LOGIN`, `Error#CF_RESOURCE_BUSY`, `InboundCall#ALERTING`).
pub fn user_message(key: &str) -> Option<&'static str> {
    Some(match key {
        "State#RE_LOGIN" => "Reconnecting, please wait",
        "State#LOGOUT" => "Logged out",
        "State#LOGGED_IN" => "Logged in",
        "State#READY" => "Ready",
        "State#NOT_READY" => "Not ready",
        "State#RESERVED" => "Reserved: inbound call arriving",
        "State#TALKING" => "Talking",
        "State#WORK" => "Wrap-up, then not ready",
        "State#WORK_READY" => "Wrap-up, then ready",
        "State#UNKNOWN" => "Error: please refresh",
        "State#HOLD" => "Call on hold",
        "InboundCall#INITIATING" => "Call initiated",
        "InboundCall#ALERTING" => "Ringing",
        "InboundCall#ACTIVE" => "Active",
        "InboundCall#FAILED" => "Call failed",
        "InboundCall#DROP" => "Call released",
        "InboundCall#ACCEPTED" => "Accepted",
        "ConsultCall#ACTIVE" => "Consult call active",
        "ConsultCall#ALERTING" => "Consult call ringing",
        "ConsultCall#FAILED" => "Consult call failed",
        "ConsultCall#DROP" => "Consult call dropped",
        _ => {
            let code = key.strip_prefix("Error#")?;
            match ErrorCode::from(code) {
                ErrorCode::Other(_) => return None,
                c => c.description(),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_stay_open() {
        let c = ErrorCode::from("SESSION_INVALIDATED");
        assert_eq!(c, ErrorCode::SessionInvalidated);
        assert_eq!(c.as_str(), "SESSION_INVALIDATED");
        assert_eq!(c.behaviour(), Behaviour::LoginAgain);
        assert_eq!(c.origin(), Origin::Gc);
        let o = ErrorCode::from("CF_SOMETHING_NEW");
        assert_eq!(o, ErrorCode::Other("CF_SOMETHING_NEW".into()));
        assert_eq!(o.as_str(), "CF_SOMETHING_NEW");
        assert_eq!(o.origin(), Origin::Unknown);
        assert_eq!(ErrorCode::NoDialogId.behaviour(), Behaviour::RefreshDialogs);
        assert_eq!(
            ErrorCode::CfInvalidLogonDeviceSpecified.behaviour(),
            Behaviour::AskForExtension
        );
        assert_eq!(
            serde_json::to_string(&ErrorCode::MissingNumber)
                .ok()
                .as_deref(),
            Some("\"MISSING_NUMBER\"")
        );
    }

    #[test]
    fn user_messages() {
        assert_eq!(
            user_message("State#RE_LOGIN"),
            Some("Reconnecting, please wait")
        );
        assert_eq!(
            user_message("Error#CF_RESOURCE_BUSY"),
            Some("the extension is already in use")
        );
        assert_eq!(user_message("Error#NOPE"), None);
        assert_eq!(user_message("nope"), None);
    }
}
