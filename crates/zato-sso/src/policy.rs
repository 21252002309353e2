//! The sso.conf sign-up policy: the contract's check table as data ([`Row::ORDER`], each
//! row's code and the `inform_if_*` flag that shows it), checked in one place, top to
//! bottom; the first failing row wins, even when its code is hidden as `E005001`.

use signup_core::{EmailAddress, Password, PasswordPolicy, SignUpError, Username};
use zeroize::Zeroizing;

use crate::{settings::Settings, wire::Code, wire::SignUpFields};

/// One row of the check table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// `current_app` missing or not in `apps.all`.
    CurrentApp,
    /// `app_list` missing, empty, or naming an app outside `apps.signup_allowed`.
    AppList,
    /// Username missing or empty.
    UsernameMissing,
    /// Longer than `signup.max_length_username` characters.
    UsernameTooLong,
    /// Contains Unicode White_Space.
    UsernameWhitespace,
    /// Contains a control character, which no stored user name may hold (the core's rule;
    /// not in upstream's table, reported as `username.invalid`).
    UsernameControl,
    /// Contains a `user_validation.reject_username` keyword (case-insensitive).
    UsernameRejected,
    /// Already taken in the realm (case-insensitive).
    UsernameExists,
    /// Missing, or shorter than `password.min_length`.
    PasswordTooShort,
    /// Longer than `password.max_length`.
    PasswordTooLong,
    /// Contains a `password.reject_list` entry (case-insensitive).
    PasswordRejected,
    /// zxcvbn score under `password.min_complexity`.
    PasswordTooSimple,
    /// Missing while `signup.is_email_required`.
    EmailMissing,
    /// Longer than `signup.max_length_email`.
    EmailTooLong,
    /// Contains white space or is not a valid address (the core's `EmailAddress`).
    EmailInvalid,
    /// Contains a `user_validation.reject_email` keyword (case-insensitive).
    EmailRejected,
    /// Used by another user of the realm (case-insensitive).
    EmailExists,
}

/// Which setting decides whether a row's own code is shown (else `E005001`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    Always,
    AppInvalid,
    UserInvalid,
    UserExists,
    PasswordInvalid,
    EmailInvalid,
    EmailExists,
}

impl Row {
    /// The table's order.
    pub const ORDER: [Row; 17] = [
        Row::CurrentApp,
        Row::AppList,
        Row::UsernameMissing,
        Row::UsernameTooLong,
        Row::UsernameWhitespace,
        Row::UsernameControl,
        Row::UsernameRejected,
        Row::UsernameExists,
        Row::PasswordTooShort,
        Row::PasswordTooLong,
        Row::PasswordRejected,
        Row::PasswordTooSimple,
        Row::EmailMissing,
        Row::EmailTooLong,
        Row::EmailInvalid,
        Row::EmailRejected,
        Row::EmailExists,
    ];

    /// The row's own code and the flag that shows it.
    fn rule(self) -> (Code, Flag) {
        match self {
            Row::CurrentApp => (Code::E004001, Flag::AppInvalid),
            Row::AppList => (Code::E004002, Flag::Always),
            Row::UsernameMissing => (Code::E001001, Flag::Always),
            Row::UsernameTooLong => (Code::E001003, Flag::UserInvalid),
            Row::UsernameWhitespace => (Code::E001004, Flag::UserInvalid),
            Row::UsernameControl | Row::UsernameRejected => (Code::E001001, Flag::UserInvalid),
            Row::UsernameExists => (Code::E001002, Flag::UserExists),
            Row::PasswordTooShort => (Code::E003002, Flag::PasswordInvalid),
            Row::PasswordTooLong => (Code::E003003, Flag::PasswordInvalid),
            Row::PasswordRejected => (Code::E003001, Flag::PasswordInvalid),
            Row::PasswordTooSimple => (Code::E003008, Flag::PasswordInvalid),
            Row::EmailMissing => (Code::E002005, Flag::EmailInvalid),
            Row::EmailTooLong => (Code::E002003, Flag::EmailInvalid),
            Row::EmailInvalid => (Code::E002004, Flag::EmailInvalid),
            Row::EmailRejected => (Code::E002001, Flag::EmailInvalid),
            Row::EmailExists => (Code::E002002, Flag::EmailExists),
        }
    }

    /// The row's own code, whether or not it is shown.
    pub fn code(self) -> Code {
        self.rule().0
    }
}

/// A failed row and whether its code may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation {
    pub row: Row,
    pub shown: bool,
}

impl Violation {
    /// What the client sees: the row's code, or `E005001` when it is hidden.
    pub fn sub_status(self) -> Code {
        if self.shown {
            self.row.code()
        } else {
            Code::E005001
        }
    }
}

/// Why a sign-up did not pass the policy.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("the sign-up breaks the rule {:?}", .0.row)]
    Violation(Violation),
    /// A lookup the table needs (user or address taken) failed.
    #[error(transparent)]
    Lookup(#[from] SignUpError),
}

/// The lookups two rows need: whether a name or an address is taken in the realm.
pub trait Registry {
    fn username_taken(
        &self,
        username: &Username,
    ) -> impl std::future::Future<Output = Result<bool, SignUpError>>;
    fn email_taken(
        &self,
        email: &EmailAddress,
    ) -> impl std::future::Future<Output = Result<bool, SignUpError>>;
}

/// A sign-up that passed every row, parsed into the core's types.
#[derive(Debug)]
pub struct Accepted {
    pub username: Username,
    pub password: Password,
    pub email: Option<EmailAddress>,
}

/// sso.conf's sign-up rules, read once from the settings (keywords lowercased, as sso.conf
/// normalises them).
#[derive(Debug, Clone)]
pub struct Policy {
    apps_all: Vec<String>,
    apps_signup_allowed: Vec<String>,
    inform_if_app_invalid: bool,
    inform_if_user_invalid: bool,
    inform_if_user_exists: bool,
    inform_if_email_invalid: bool,
    inform_if_email_exists: bool,
    inform_if_password_invalid: bool,
    max_length_username: usize,
    max_length_email: usize,
    is_email_required: bool,
    password_min_length: usize,
    password_max_length: usize,
    min_complexity: u8,
    reject_password: Vec<String>,
    reject_username: Vec<String>,
    reject_email: Vec<String>,
}

/// Keywords as compared: trimmed, lowercased, empty ones dropped (they would match all).
fn keywords(list: &[String]) -> Vec<String> {
    list.iter()
        .map(|k| k.trim().to_lowercase())
        .filter(|k| !k.is_empty())
        .collect()
}

fn contains_any(value: &str, keywords: &[String]) -> bool {
    let lowered = Zeroizing::new(value.to_lowercase());
    keywords.iter().any(|k| lowered.contains(k.as_str()))
}

impl Policy {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let password = &settings.password;
        if password.min_complexity > 4 {
            anyhow::bail!(
                "flavours.zato.password.min_complexity is a zxcvbn score, 0 to 4 (got {})",
                password.min_complexity
            );
        }
        if password.min_length > password.max_length {
            anyhow::bail!(
                "flavours.zato.password.min_length ({}) is above max_length ({})",
                password.min_length,
                password.max_length
            );
        }
        let signup = &settings.signup;
        Ok(Self {
            apps_all: settings.apps.all.0.clone(),
            apps_signup_allowed: settings.apps.signup_allowed.0.clone(),
            inform_if_app_invalid: settings.apps.inform_if_app_invalid,
            inform_if_user_invalid: signup.inform_if_user_invalid,
            inform_if_user_exists: signup.inform_if_user_exists,
            inform_if_email_invalid: signup.inform_if_email_invalid,
            inform_if_email_exists: signup.inform_if_email_exists,
            inform_if_password_invalid: password.inform_if_invalid,
            max_length_username: signup.max_length_username,
            max_length_email: signup.max_length_email,
            is_email_required: signup.is_email_required,
            password_min_length: password.min_length,
            password_max_length: password.max_length,
            min_complexity: password.min_complexity,
            reject_password: keywords(&password.reject_list.0),
            reject_username: keywords(&settings.user_validation.reject_username.0),
            reject_email: keywords(&settings.user_validation.reject_email.0),
        })
    }

    /// The row's violation, shown or hidden per its flag.
    pub fn violation(&self, row: Row) -> Violation {
        let shown = match row.rule().1 {
            Flag::Always => true,
            Flag::AppInvalid => self.inform_if_app_invalid,
            Flag::UserInvalid => self.inform_if_user_invalid,
            Flag::UserExists => self.inform_if_user_exists,
            Flag::PasswordInvalid => self.inform_if_password_invalid,
            Flag::EmailInvalid => self.inform_if_email_invalid,
            Flag::EmailExists => self.inform_if_email_exists,
        };
        Violation { row, shown }
    }

    /// Whether `current_app` names an application of `apps.all`.
    pub fn knows_app(&self, current_app: Option<&str>) -> bool {
        current_app.is_some_and(|app| self.apps_all.iter().any(|known| known == app))
    }

    /// Runs the table on a sign-up, top to bottom.
    pub async fn check<R: Registry>(
        &self,
        fields: SignUpFields,
        registry: &R,
    ) -> Result<Accepted, Refused> {
        let SignUpFields {
            username,
            password,
            email,
            current_app,
            app_list,
        } = fields;
        let username = username.unwrap_or_default();
        // An empty address is a missing one.
        let email = email.filter(|e| !e.is_empty());
        let address = email.as_deref().map(EmailAddress::parse);
        for row in Row::ORDER {
            let fails = match row {
                Row::CurrentApp => !self.knows_app(current_app.as_deref()),
                Row::AppList => app_list.as_deref().is_none_or(|apps| {
                    apps.is_empty()
                        || apps
                            .iter()
                            .any(|app| !self.apps_signup_allowed.contains(app))
                }),
                Row::UsernameMissing => username.is_empty(),
                Row::UsernameTooLong => username.chars().count() > self.max_length_username,
                Row::UsernameWhitespace => username.chars().any(char::is_whitespace),
                Row::UsernameControl => username.chars().any(char::is_control),
                Row::UsernameRejected => contains_any(&username, &self.reject_username),
                Row::UsernameExists => match Username::parse(&username, self.max_length_username) {
                    Ok(name) => registry.username_taken(&name).await?,
                    // Unreachable after the rows above; the parse below reports it.
                    Err(_) => false,
                },
                Row::PasswordTooShort => password
                    .as_deref()
                    .is_none_or(|p| p.chars().count() < self.password_min_length),
                Row::PasswordTooLong => password
                    .as_deref()
                    .is_some_and(|p| p.chars().count() > self.password_max_length),
                Row::PasswordRejected => password
                    .as_deref()
                    .is_some_and(|p| contains_any(p, &self.reject_password)),
                Row::PasswordTooSimple => {
                    self.min_complexity > 0
                        && password.as_deref().is_some_and(|p| {
                            u8::from(zxcvbn::zxcvbn(p, &[]).score()) < self.min_complexity
                        })
                }
                Row::EmailMissing => self.is_email_required && email.is_none(),
                Row::EmailTooLong => email
                    .as_deref()
                    .is_some_and(|e| e.chars().count() > self.max_length_email),
                Row::EmailInvalid => email.as_deref().is_some_and(|e| {
                    e.chars().any(char::is_whitespace)
                        || address.as_ref().is_some_and(Result::is_err)
                }),
                Row::EmailRejected => email
                    .as_deref()
                    .is_some_and(|e| contains_any(e, &self.reject_email)),
                Row::EmailExists => match &address {
                    Some(Ok(address)) => registry.email_taken(address).await?,
                    _ => false,
                },
            };
            if fails {
                return Err(Refused::Violation(self.violation(row)));
            }
        }
        // Every row passed, so each parse succeeds; a failure still answers by its row.
        let username = Username::parse(&username, self.max_length_username)
            .map_err(|_| Refused::Violation(self.violation(Row::UsernameControl)))?;
        let raw = password
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        let password = Password::parse(
            raw,
            PasswordPolicy {
                min_chars: self.password_min_length,
                max_chars: self.password_max_length,
            },
        )
        .map_err(|_| Refused::Violation(self.violation(Row::PasswordTooShort)))?;
        let email = address
            .transpose()
            .map_err(|_| Refused::Violation(self.violation(Row::EmailInvalid)))?;
        Ok(Accepted {
            username,
            password,
            email,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    /// Taken names, lowercased.
    struct Taken {
        usernames: Vec<&'static str>,
        emails: Vec<&'static str>,
    }

    impl Registry for Taken {
        async fn username_taken(&self, username: &Username) -> Result<bool, SignUpError> {
            Ok(self.usernames.contains(&username.key()))
        }
        async fn email_taken(&self, email: &EmailAddress) -> Result<bool, SignUpError> {
            Ok(self.emails.contains(&email.key()))
        }
    }

    const TAKEN: Taken = Taken {
        usernames: Vec::new(),
        emails: Vec::new(),
    };

    fn fields(body: serde_json::Value) -> SignUpFields {
        SignUpFields::parse(body.to_string().as_bytes()).unwrap()
    }

    fn valid() -> serde_json::Value {
        serde_json::json!({"username": "my.user", "password": "Xk3!vq9Lp", "email": "me@example.com",
                           "current_app": "CRM", "app_list": ["CRM"]})
    }

    async fn row_of(policy: &Policy, body: serde_json::Value, taken: &Taken) -> Option<Row> {
        match policy.check(fields(body), taken).await {
            Ok(_) => None,
            Err(Refused::Violation(v)) => Some(v.row),
            Err(Refused::Lookup(e)) => panic!("{e}"),
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn a_body_failing_two_rows_gets_the_earlier_row() {
        let mut settings = Settings::default();
        settings.password.min_complexity = 3;
        settings.signup.is_email_required = true;
        let policy = Policy::new(&settings).unwrap();
        let taken = Taken {
            usernames: vec!["taken"],
            emails: vec!["used@example.com"],
        };
        let with = |pairs: &[(&str, serde_json::Value)]| {
            let mut body = valid();
            for (k, v) in pairs {
                body[*k] = v.clone();
            }
            body
        };
        use serde_json::json;
        let cases = [
            (with(&[]), None),
            (
                with(&[("current_app", json!("X")), ("app_list", json!([]))]),
                Some(Row::CurrentApp),
            ),
            (
                with(&[("app_list", json!(["ERP"])), ("username", json!(""))]),
                Some(Row::AppList),
            ),
            (
                with(&[("username", json!(null)), ("password", json!("x"))]),
                Some(Row::UsernameMissing),
            ),
            (
                with(&[("username", json!(format!("{} x", "a".repeat(128))))]),
                Some(Row::UsernameTooLong),
            ),
            (
                with(&[("username", json!(" admin"))]),
                Some(Row::UsernameWhitespace),
            ),
            (
                with(&[("username", json!("a\u{7}b"))]),
                Some(Row::UsernameControl),
            ),
            (
                with(&[("username", json!("MyAdmin")), ("password", json!("x"))]),
                Some(Row::UsernameRejected),
            ),
            (
                with(&[("username", json!("TAKEN")), ("password", json!("x"))]),
                Some(Row::UsernameExists),
            ),
            (
                with(&[("password", json!(null)), ("email", json!("bad"))]),
                Some(Row::PasswordTooShort),
            ),
            (
                with(&[("password", json!("x".repeat(257)))]),
                Some(Row::PasswordTooLong),
            ),
            (
                with(&[("password", json!("myPassword99"))]),
                Some(Row::PasswordRejected),
            ),
            (
                with(&[("password", json!("abcdefgh"))]),
                Some(Row::PasswordTooSimple),
            ),
            (with(&[("email", json!(""))]), Some(Row::EmailMissing)),
            (
                with(&[("email", json!(format!("{}@example.com", "a".repeat(120))))]),
                Some(Row::EmailTooLong),
            ),
            (
                with(&[("email", json!(" me@example.com"))]),
                Some(Row::EmailInvalid),
            ),
            (
                with(&[("email", json!("me@localhost"))]),
                Some(Row::EmailInvalid),
            ),
            (
                with(&[("email", json!("root@example.com"))]),
                Some(Row::EmailRejected),
            ),
            (
                with(&[("email", json!("USED@example.com"))]),
                Some(Row::EmailExists),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                block_on(row_of(&policy, body.clone(), &taken)),
                expected,
                "{body}"
            );
        }
    }

    #[test]
    fn hidden_rows_answer_e005001_and_shown_rows_their_code() {
        let mut settings = Settings::default();
        let policy = Policy::new(&settings).unwrap();
        assert_eq!(
            policy.violation(Row::UsernameExists).sub_status(),
            Code::E005001
        );
        assert_eq!(
            policy.violation(Row::UsernameMissing).sub_status(),
            Code::E001001
        );
        assert_eq!(
            policy.violation(Row::PasswordRejected).sub_status(),
            Code::E003001
        );
        assert_eq!(
            policy.violation(Row::CurrentApp).sub_status(),
            Code::E004001
        );
        settings.signup.inform_if_user_exists = true;
        settings.password.inform_if_invalid = false;
        settings.apps.inform_if_app_invalid = false;
        let policy = Policy::new(&settings).unwrap();
        assert_eq!(
            policy.violation(Row::UsernameExists).sub_status(),
            Code::E001002
        );
        assert_eq!(
            policy.violation(Row::PasswordRejected).sub_status(),
            Code::E005001
        );
        assert_eq!(
            policy.violation(Row::CurrentApp).sub_status(),
            Code::E005001
        );
        assert_eq!(policy.violation(Row::AppList).sub_status(), Code::E004002);
    }

    #[test]
    fn without_a_required_address_a_missing_one_passes() {
        let policy = Policy::new(&Settings::default()).unwrap();
        let mut body = valid();
        body["email"] = serde_json::json!("");
        let accepted = block_on(policy.check(fields(body), &TAKEN)).unwrap();
        assert!(accepted.email.is_none());
        assert_eq!(accepted.username.as_str(), "my.user");
    }

    #[test]
    fn a_complexity_outside_zxcvbns_scores_is_refused_at_mount() {
        let mut settings = Settings::default();
        settings.password.min_complexity = 5;
        assert!(Policy::new(&settings).is_err());
    }
}
