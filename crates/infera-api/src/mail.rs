//! The mails this flavour sends, rendered from `templates/` (HTML auto-escaped) before the
//! core is called: both of them, since only the core's transaction knows which one goes.

use askama::Template;
use signup_core::outbox::OutgoingMail;

#[derive(Template)]
#[template(path = "verify.txt", escape = "none")]
struct VerifyText<'a> {
    email: &'a str,
    hours: u64,
    link: &'a str,
    site_name: &'a str,
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyHtml<'a> {
    email: &'a str,
    hours: u64,
    link: &'a str,
    site_name: &'a str,
}

#[derive(Template)]
#[template(path = "notice.txt", escape = "none")]
struct NoticeText<'a> {
    email: &'a str,
    site_name: &'a str,
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticeHtml<'a> {
    email: &'a str,
    site_name: &'a str,
}

/// The verification link, valid for `hours`.
pub fn verify(
    email: &str,
    link: &str,
    hours: u64,
    site_name: &str,
) -> askama::Result<OutgoingMail> {
    Ok(OutgoingMail {
        to: email.to_string(),
        subject: format!("Verify your email address for {site_name}"),
        text: VerifyText {
            email,
            hours,
            link,
            site_name,
        }
        .render()?,
        html: Some(
            VerifyHtml {
                email,
                hours,
                link,
                site_name,
            }
            .render()?,
        ),
    })
}

/// The notice to an address that already has a verified account.
pub fn already_registered(email: &str, site_name: &str) -> askama::Result<OutgoingMail> {
    Ok(OutgoingMail {
        to: email.to_string(),
        subject: format!("You already have an account on {site_name}"),
        text: NoticeText { email, site_name }.render()?,
        html: Some(NoticeHtml { email, site_name }.render()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_is_escaped_in_html_and_verbatim_in_text() {
        let link = "https://x.example/infera/verify_email?token=a&b";
        let mail = verify("o'neil@example.com", link, 24, "Site").unwrap();
        assert!(
            mail.text.contains(&format!("\n\n{link}\n\n")),
            "{}",
            mail.text
        );
        let html = mail.html.unwrap();
        assert!(!html.contains("token=a&b"), "{html}");
        assert!(!html.contains("o'neil"), "{html}");
    }
}
