//! Reading the checker model's verdict: one JSON object with `verdict`,
//! `confidence` and `notes`, tolerating prose or a code fence around it.

use serde::{Deserialize, Serialize};

/// The checker's judgement of a diff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckerVerdict {
    pub pass: bool,
    /// 0..=1.
    pub confidence: f64,
    pub notes: String,
}

impl CheckerVerdict {
    /// True when the verdict is pass with at least `min_confidence`.
    pub fn accepts(&self, min_confidence: f64) -> bool {
        self.pass && self.confidence >= min_confidence
    }
}

#[derive(Deserialize)]
struct Wire {
    verdict: String,
    confidence: f64,
    #[serde(default)]
    notes: String,
}

/// The verdict in `answer`, or why it cannot be read.
pub fn parse_verdict(answer: &str) -> Result<CheckerVerdict, String> {
    let start = answer
        .find('{')
        .ok_or("the checker's answer holds no JSON object")?;
    let end = answer
        .rfind('}')
        .ok_or("the checker's answer holds no JSON object")?;
    if end < start {
        return Err("the checker's answer holds no JSON object".into());
    }
    let wire: Wire = serde_json::from_str(&answer[start..=end])
        .map_err(|e| format!("the checker's verdict is not the expected JSON: {e}"))?;
    let pass = match wire.verdict.trim().to_ascii_lowercase().as_str() {
        "pass" => true,
        "fail" => false,
        other => {
            return Err(format!(
                "the checker's verdict {other:?} is neither pass nor fail"
            ));
        }
    };
    if !(0.0..=1.0).contains(&wire.confidence) {
        return Err(format!(
            "the checker's confidence {} is outside 0..=1",
            wire.confidence
        ));
    }
    Ok(CheckerVerdict {
        pass,
        confidence: wire.confidence,
        notes: wire.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_is_read_through_prose_and_fences() {
        let v = parse_verdict(
            "Here:\n```json\n{\"verdict\": \"PASS\", \"confidence\": 0.9, \"notes\": \"ok\"}\n```",
        )
        .unwrap();
        assert!(v.accepts(0.8));
        assert!(!v.accepts(0.95));
        let v = parse_verdict(
            "{\"verdict\":\"fail\",\"confidence\":0.99,\"notes\":\"misses the 404 case\"}",
        )
        .unwrap();
        assert!(!v.accepts(0.1));
        assert_eq!(v.notes, "misses the 404 case");
    }

    #[test]
    fn unreadable_verdicts_say_why() {
        assert!(parse_verdict("looks good").unwrap_err().contains("no JSON"));
        assert!(
            parse_verdict("{\"verdict\":\"maybe\",\"confidence\":0.5}")
                .unwrap_err()
                .contains("neither")
        );
        assert!(
            parse_verdict("{\"verdict\":\"pass\",\"confidence\":7}")
                .unwrap_err()
                .contains("outside")
        );
    }
}

#[cfg(test)]
mod props {
    use super::*;

    proptest::proptest! {
        #[test]
        fn any_answer_reads_as_a_verdict_or_a_reason(answer in "\\PC{0,300}") {
            match parse_verdict(&answer) {
                Ok(v) => proptest::prop_assert!((0.0..=1.0).contains(&v.confidence)),
                Err(e) => proptest::prop_assert!(e.starts_with("the checker")),
            }
        }
    }
}
