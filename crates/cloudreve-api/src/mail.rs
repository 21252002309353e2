//! The activation mail, rendered from `templates/` (HTML auto-escaped) before it is queued.

use askama::Template;
use signup_core::outbox::OutgoingMail;

#[derive(Template)]
#[template(path = "activate.txt", escape = "none")]
struct ActivateText<'a> {
    nickname: &'a str,
    link: &'a str,
    site_title: &'a str,
}

#[derive(Template)]
#[template(path = "activate.html")]
struct ActivateHtml<'a> {
    nickname: &'a str,
    link: &'a str,
    site_title: &'a str,
}

/// `[<site>] Confirm your account`, with the activation link (valid 24 hours).
pub fn activation(
    to: &str,
    nickname: &str,
    link: &str,
    site_title: &str,
) -> askama::Result<OutgoingMail> {
    Ok(OutgoingMail {
        to: to.to_string(),
        subject: format!("[{site_title}] Confirm your account"),
        text: ActivateText {
            nickname,
            link,
            site_title,
        }
        .render()?,
        html: Some(
            ActivateHtml {
                nickname,
                link,
                site_title,
            }
            .render()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_is_verbatim_in_text_and_escaped_in_html() {
        let link = "https://x.example/session/activate?id=Y5Tb&sign=abc%3D%3A1";
        let mail = activation("o'neil@example.com", "o'neil", link, "Site").unwrap();
        assert_eq!(mail.subject, "[Site] Confirm your account");
        assert!(
            mail.text.contains(&format!("\n\n{link}\n\n")),
            "{}",
            mail.text
        );
        assert!(mail.text.contains("24 hours"));
        let html = mail.html.unwrap();
        assert!(!html.contains("id=Y5Tb&sign"), "{html}");
        assert!(!html.contains("o'neil"), "{html}");
    }
}
