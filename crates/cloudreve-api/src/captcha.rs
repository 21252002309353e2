//! The graphic captcha: a PNG of six random letters and digits, drawn by the `captcha` crate.

use captcha::{
    filters::{Dots, Noise, Wave},
    Captcha, Geometry,
};

/// How many characters a captcha has.
pub const LENGTH: u32 = 6;
/// The image's size, upstream's 240 x 60 with room for the font's height.
const WIDTH: u32 = 240;
const HEIGHT: u32 = 80;
/// The canvas the crate draws on before the view is cut out of it.
const CANVAS: (u32, u32) = (400, 300);

/// A drawn captcha: its answer and the PNG.
#[derive(Debug)]
pub struct Drawn {
    pub answer: String,
    pub png: Vec<u8>,
}

/// Draws a captcha of six random characters, or of `answer` (the test answer) when given.
/// CPU work of a few milliseconds: call it off the async workers.
pub fn draw(answer: Option<&str>) -> Option<Drawn> {
    let mut captcha = Captcha::new();
    match answer {
        Some(text) => {
            let supported = captcha.supported_chars();
            for c in text
                .chars()
                .filter(|c| supported.contains(c))
                .take(LENGTH as usize)
            {
                captcha.set_chars(&[c]).add_char();
            }
        }
        None => {
            captcha.add_chars(LENGTH);
        }
    }
    let area = view(captcha.text_area());
    captcha
        .apply_filter(Noise::new(0.2))
        .apply_filter(Wave::new(2.0, 8.0))
        .extract(area)
        .apply_filter(Dots::new(8));
    let png = captcha.as_png()?;
    Some(Drawn {
        answer: answer.map_or_else(|| captcha.chars_as_string(), str::to_string),
        png,
    })
}

/// The WIDTH x HEIGHT box centred on the text, kept inside the canvas (the crate's own
/// `view` underflows when the text is narrow).
fn view(text: Geometry) -> Geometry {
    let centre_x = (text.left + text.right) / 2;
    let centre_y = (text.top + text.bottom) / 2;
    let left = centre_x.saturating_sub(WIDTH / 2).min(CANVAS.0 - WIDTH);
    let top = centre_y.saturating_sub(HEIGHT / 2).min(CANVAS.1 - HEIGHT);
    Geometry::new(left, left + WIDTH, top, top + HEIGHT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_captcha_is_a_png_of_six_letters_or_digits() {
        for _ in 0..50 {
            let drawn = draw(None).unwrap();
            assert!(drawn.png.starts_with(b"\x89PNG\r\n\x1a\n"));
            assert_eq!(drawn.answer.chars().count(), 6, "{}", drawn.answer);
            assert!(drawn.answer.chars().all(|c| c.is_ascii_alphanumeric()));
        }
    }

    #[test]
    fn the_test_answer_is_drawn_and_kept() {
        let drawn = draw(Some("e2eTST")).unwrap();
        assert_eq!(drawn.answer, "e2eTST");
        assert!(drawn.png.starts_with(b"\x89PNG"));
        // Characters the font lacks are not drawn; the answer stays as configured.
        assert_eq!(draw(Some("0O1l")).unwrap().answer, "0O1l");
        assert!(draw(Some(&"W".repeat(40))).is_some());
    }

    #[test]
    fn the_widest_characters_fit_in_the_image() {
        let widest: String = Captcha::new()
            .supported_chars()
            .into_iter()
            .filter(|c| "MWmwQGOD".contains(*c))
            .cycle()
            .take(6)
            .collect();
        assert!(draw(Some(&widest)).is_some());
    }
}
