//! The mails this flavour sends, rendered from `templates/` (HTML auto-escaped) before the
//! core is called.

use askama::Template;
use signup_core::outbox::OutgoingMail;

#[derive(Template)]
#[template(path = "welcome.txt", escape = "none")]
struct WelcomeText<'a> {
    first_name: &'a str,
    username: &'a str,
    site_name: &'a str,
}

#[derive(Template)]
#[template(path = "welcome.html")]
struct WelcomeHtml<'a> {
    first_name: &'a str,
    username: &'a str,
    site_name: &'a str,
}

/// The welcome mail of a new account.
pub fn welcome(
    to: &str,
    first_name: &str,
    username: &str,
    site_name: &str,
) -> askama::Result<OutgoingMail> {
    Ok(OutgoingMail {
        to: to.to_string(),
        subject: format!("Welcome to {site_name}"),
        text: WelcomeText {
            first_name,
            username,
            site_name,
        }
        .render()?,
        html: Some(
            WelcomeHtml {
                first_name,
                username,
                site_name,
            }
            .render()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_html_part_escapes_what_the_user_typed() {
        let mail = welcome("a@example.com", "<b>Ada</b>", "ada&co", "Site").unwrap();
        let html = mail.html.unwrap();
        assert!(
            html.contains("&#60;b&#62;Ada&#60;/b&#62;") || html.contains("&lt;b&gt;Ada&lt;/b&gt;"),
            "{html}"
        );
        assert!(
            html.contains("ada&#38;co") || html.contains("ada&amp;co"),
            "{html}"
        );
        assert!(mail
            .text
            .starts_with("Hello <b>Ada</b>,\n\nyour account \"ada&co\" on Site is ready"));
    }
}
