//! The words a person reads (tiers, stages, bands, actions, reasons, segment names, chart
//! and report text), in one language: a `Vocabulary` is loaded once per run from a
//! shipped language (`assets/vocab/<lang>.toml`) or a house vocabulary file that renames
//! words of one, and passed wherever words are rendered. Words are looked up by key
//! (`tier.high`, `chart.segment_risk.title`); labeling logic works on codes and never
//! compares words. Every word must have a glyph in the font the charts draw it with
//! (docs/language.md).

use crate::error::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The shipped languages: code and vocabulary text.
const SHIPPED: &[(&str, &str)] = &[
    ("en", include_str!("../../assets/vocab/en.toml")),
    ("zh-CN", include_str!("../../assets/vocab/zh-CN.toml")),
];

static DEJAVU: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static NOTO_SC: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-subset.otf");

/// The codes of the shipped languages.
pub fn languages() -> Vec<&'static str> {
    SHIPPED.iter().map(|(code, _)| *code).collect()
}

/// The font charts draw a vocabulary's words with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChartFont {
    /// DejaVu Sans (embedded): Latin, Greek, Cyrillic.
    DejaVu,
    /// Noto Sans CJK SC, subset (embedded; assets/fonts/subset.py says which characters).
    NotoSansSc,
    /// A font file a house vocabulary names (`font = "..."`).
    File { path: PathBuf, bytes: Arc<[u8]> },
}

impl ChartFont {
    /// The font's bytes (TrueType or OpenType/CFF).
    pub fn bytes(&self) -> &[u8] {
        match self {
            ChartFont::DejaVu => DEJAVU,
            ChartFont::NotoSansSc => NOTO_SC,
            ChartFont::File { bytes, .. } => bytes,
        }
    }

    /// The bytes of an embedded font (a house font: empty; use `bytes`).
    pub fn bytes_static(&self) -> &'static [u8] {
        match self {
            ChartFont::DejaVu => DEJAVU,
            ChartFont::NotoSansSc => NOTO_SC,
            ChartFont::File { .. } => &[],
        }
    }

    /// The first character of `text` the font has no glyph for.
    pub fn missing_glyph(&self, text: &str) -> Option<char> {
        use ab_glyph::Font as _;
        let font = ab_glyph::FontRef::try_from_slice(self.bytes()).ok()?;
        text.chars()
            .filter(|c| !c.is_control())
            .find(|&c| font.glyph_id(c).0 == 0)
    }
}

/// The words of one language (see the module documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct Vocabulary {
    /// The shipped language the words start from (`en`, `zh-CN`).
    lang: String,
    words: BTreeMap<String, String>,
    font: ChartFont,
    /// Action codes a house vocabulary renames (its words win over a config's).
    house_actions: BTreeSet<String>,
    /// The house vocabulary file, if any.
    origin: Option<PathBuf>,
}

impl Default for Vocabulary {
    fn default() -> Self {
        Vocabulary::english().as_ref().clone()
    }
}

/// A vocabulary file as written: `base` and `font` settings beside tables of words.
fn flatten(
    table: &toml::Table,
    prefix: &str,
    out: &mut BTreeMap<String, String>,
) -> std::result::Result<(), String> {
    for (key, value) in table {
        let full = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::String(s) => {
                out.insert(full, s.clone());
            }
            toml::Value::Table(t) => flatten(t, &full, out)?,
            other => {
                return Err(format!(
                    "key '{full}': expected a string, found {}",
                    other.type_str()
                ))
            }
        }
    }
    Ok(())
}

/// The `{name}` placeholders of a template.
fn placeholders(template: &str) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.insert(&after[..close]);
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

impl Vocabulary {
    /// The shipped English vocabulary (the default), parsed once.
    pub fn english() -> Arc<Vocabulary> {
        static EN: OnceLock<Arc<Vocabulary>> = OnceLock::new();
        EN.get_or_init(|| {
            // The shipped file is compiled in and checked by the tests.
            Arc::new(Vocabulary::shipped("en").unwrap_or_else(|_| Vocabulary {
                lang: "en".into(),
                words: BTreeMap::new(),
                font: ChartFont::DejaVu,
                house_actions: BTreeSet::new(),
                origin: None,
            }))
        })
        .clone()
    }

    /// A shipped language by its code (`en`, `zh-CN`).
    ///
    /// # Errors
    /// `Error::InvalidParameter` for a language that is not shipped, naming those that are.
    pub fn shipped(lang: &str) -> Result<Vocabulary> {
        let Some((code, text)) = SHIPPED.iter().find(|(code, _)| *code == lang) else {
            return Err(Error::InvalidParameter(format!(
                "language '{lang}' is not shipped; use one of {} (or a house vocabulary file)",
                languages().join(", ")
            )));
        };
        let table: toml::Table = toml::from_str(text)
            .map_err(|e| Error::Runtime(format!("shipped vocabulary {code}: {e}")))?;
        let mut words = BTreeMap::new();
        flatten(&table, "", &mut words)
            .map_err(|e| Error::Runtime(format!("shipped vocabulary {code}: {e}")))?;
        let font = if *code == "en" {
            ChartFont::DejaVu
        } else {
            ChartFont::NotoSansSc
        };
        Ok(Vocabulary {
            lang: (*code).to_string(),
            words,
            font,
            house_actions: BTreeSet::new(),
            origin: None,
        })
    }

    /// The vocabulary of a run: a house vocabulary file when given (its `base` language,
    /// else `lang`, else English, supplies the words it does not rename), else the
    /// shipped `lang`, else English.
    ///
    /// # Errors
    /// As `shipped` and `load`.
    pub fn choose(lang: Option<&str>, house: Option<&Path>) -> Result<Arc<Vocabulary>> {
        match (house, lang) {
            (Some(path), _) => Vocabulary::load(path, lang).map(Arc::new),
            (None, Some(lang)) => Vocabulary::shipped(lang).map(Arc::new),
            (None, None) => Ok(Vocabulary::english()),
        }
    }

    /// Reads a house vocabulary file (TOML): optional `base = "<lang>"` (the shipped
    /// language it renames words of; without it every word must be given) and
    /// `font = "<file>"` (relative to the vocabulary's directory), then tables of words
    /// keyed as in `assets/vocab/en.toml`. `lang` is the base when the file names none.
    ///
    /// # Errors
    /// `Error::Config` naming the file and the key: not UTF-8, not TOML, an unknown key,
    /// a missing word (without a base), a placeholder the word may not use, a character
    /// the chart font lacks, an unreadable font.
    pub fn load(path: &Path, lang: Option<&str>) -> Result<Vocabulary> {
        let bad = |message: String| Error::Config {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            bad(format!(
                "not UTF-8 text (invalid byte at offset {}): save the vocabulary as UTF-8",
                e.utf8_error().valid_up_to()
            ))
        })?;
        let mut table: toml::Table =
            toml::from_str(&text).map_err(|e| bad(format!("not a vocabulary (TOML): {e}")))?;
        let setting = |table: &mut toml::Table, key: &str| match table.remove(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(bad(format!(
                "key '{key}': expected a string, found {}",
                other.type_str()
            ))),
        };
        let base = setting(&mut table, "base")?;
        let font_file = setting(&mut table, "font")?;
        let mut given = BTreeMap::new();
        flatten(&table, "", &mut given).map_err(bad)?;
        let base_lang = base.as_deref().or(lang);
        let mut v = match base_lang {
            Some(l) => Vocabulary::shipped(l).map_err(|e| bad(format!("base: {e}")))?,
            None => Vocabulary::shipped("en")?,
        };
        let en = Vocabulary::english();
        for (key, word) in &given {
            check_word(&en, key, word).map_err(&bad)?;
        }
        if base_lang.is_none() {
            if let Some(missing) = en.words.keys().find(|k| !given.contains_key(*k)) {
                let count = en.words.keys().filter(|k| !given.contains_key(*k)).count();
                return Err(bad(format!(
                    "missing the word for '{missing}' ({count} missing in all): give every \
                     word, or `base = \"en\"` (or another shipped language) to start from"
                )));
            }
        }
        v.house_actions = given
            .keys()
            .filter_map(|k| k.strip_prefix("action."))
            .map(str::to_string)
            .collect();
        v.words.extend(given);
        v.origin = Some(path.to_path_buf());
        if let Some(file) = font_file {
            v.font = font_file_beside(path, &file).map_err(&bad)?;
        }
        v.check_glyphs().map_err(bad)?;
        Ok(v)
    }

    /// Every word has a glyph in the chart font; without a font setting a house
    /// vocabulary falls back to the embedded CJK font when its base's font lacks one.
    fn check_glyphs(&mut self) -> std::result::Result<(), String> {
        let first_missing = |font: &ChartFont, words: &BTreeMap<String, String>| {
            words
                .iter()
                .find_map(|(k, w)| font.missing_glyph(w).map(|c| (k.clone(), c)))
        };
        let Some((key, c)) = first_missing(&self.font, &self.words) else {
            return Ok(());
        };
        if self.font == ChartFont::DejaVu
            && first_missing(&ChartFont::NotoSansSc, &self.words).is_none()
        {
            self.font = ChartFont::NotoSansSc;
            return Ok(());
        }
        let font = match &self.font {
            ChartFont::File { path, .. } => path.display().to_string(),
            ChartFont::DejaVu => "DejaVu Sans".into(),
            ChartFont::NotoSansSc => "Noto Sans SC (subset)".into(),
        };
        Err(format!(
            "key '{key}': the character '{c}' (U+{:04X}) has no glyph in the chart font \
             ({font}); set `font = \"<file>\"` to a TrueType or OpenType font that has it",
            u32::from(c)
        ))
    }

    /// The shipped language the words start from.
    pub fn lang(&self) -> &str {
        &self.lang
    }

    /// The house vocabulary file, if any.
    pub fn origin(&self) -> Option<&Path> {
        self.origin.as_deref()
    }

    /// The font charts draw these words with.
    pub fn font(&self) -> &ChartFont {
        &self.font
    }

    /// Exactly the shipped English words (outputs then read as they always have).
    pub fn is_english(&self) -> bool {
        self.lang == "en" && self.origin.is_none()
    }

    /// Every key and word.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.words.iter().map(|(k, w)| (k.as_str(), w.as_str()))
    }

    /// The word for `key` (the key itself if a vocabulary lacks it: every shipped one
    /// has every key, which the tests check).
    pub fn word<'a>(&'a self, key: &'a str) -> &'a str {
        self.words.get(key).map_or(key, String::as_str)
    }

    /// The word for `key` if the vocabulary has one (for open sets: features, products).
    pub fn lookup(&self, key: &str) -> Option<&str> {
        self.words.get(key).map(String::as_str)
    }

    /// The template `key` with each `{name}` replaced by its value.
    pub fn fill(&self, key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
        let mut out = self.word(key).to_string();
        for (name, value) in args {
            out = out.replace(&format!("{{{name}}}"), &value.to_string());
        }
        out
    }

    /// The display word of a coded value: `<section>.<code>`.
    pub fn of<'a>(&'a self, section: &str, code: &'a str) -> &'a str {
        self.words
            .get(&format!("{section}.{code}"))
            .map_or(code, String::as_str)
    }

    /// A feature's display name (flat mode's own columns: the column with spaces).
    pub fn feature(&self, name: &str) -> String {
        self.lookup(&format!("feature.{name}"))
            .map_or_else(|| name.replace('_', " "), str::to_string)
    }

    /// A model column as charts label it: `column.<name>` (English: the column name
    /// itself), a one-hot column `a=level` as its feature's label and the level.
    pub fn column(&self, name: &str) -> String {
        let label = |n: &str| self.lookup(&format!("column.{n}")).unwrap_or(n).to_string();
        match name.split_once('=') {
            Some((feature, level)) => format!("{}={level}", label(feature)),
            None => label(name),
        }
    }

    /// A product line's display name (unknown lines: the name with spaces).
    pub fn product(&self, name: &str) -> String {
        self.lookup(&format!("product.{name}"))
            .map_or_else(|| name.replace('_', " "), str::to_string)
    }

    /// The words a recommended action is shown in: a house vocabulary's for its code;
    /// else the language's for an action of the default table (the config's words are
    /// the English default); else the config's own words.
    pub fn action<'a>(&'a self, code: &str, config_words: &'a str) -> &'a str {
        let key = format!("action.{code}");
        if self.house_actions.contains(code) {
            return self.word_owned(&key).unwrap_or(config_words);
        }
        let en = Vocabulary::english();
        if en.words.get(&key).is_some_and(|w| w == config_words) {
            return self.word_owned(&key).unwrap_or(config_words);
        }
        config_words
    }

    fn word_owned(&self, key: &str) -> Option<&str> {
        self.words.get(key).map(String::as_str)
    }

    /// The action code a recommended action's words were shown for (`action` in a
    /// summary or last month's labels): a default action's, in any shipped language or
    /// these words.
    pub fn action_code_of(&self, words: &str) -> Option<String> {
        let in_vocab = |v: &Vocabulary| {
            v.words
                .iter()
                .find(|(k, w)| k.starts_with("action.") && *w == words)
                .map(|(k, _)| k["action.".len()..].to_string())
        };
        in_vocab(self).or_else(|| {
            SHIPPED
                .iter()
                .filter_map(|(l, _)| Vocabulary::shipped(l).ok())
                .find_map(|v| in_vocab(&v))
        })
    }

    /// The codes of the actions a house vocabulary renames (checked against the run's
    /// action table).
    pub fn house_action_codes(&self) -> &BTreeSet<String> {
        &self.house_actions
    }
}

/// Checks one word of a house vocabulary against the shipped English one: a known key
/// (or an action code of the config's own table), only the placeholders the English
/// word uses, no control characters.
fn check_word(en: &Vocabulary, key: &str, word: &str) -> std::result::Result<(), String> {
    // An action of the config's own table is named by its code (checked against the
    // run's table by `LabelRules::with_words`).
    let own_action = key.strip_prefix("action.").is_some_and(|code| {
        !code.is_empty()
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    });
    let template = if own_action {
        en.words.get(key).map_or("", String::as_str)
    } else if let Some(template) = en.words.get(key) {
        template.as_str()
    } else {
        return Err(format!(
            "unknown key '{key}' (the keys are those of the shipped en vocabulary: docs/language.md)"
        ));
    };
    let allowed = placeholders(template);
    if let Some(p) = placeholders(word)
        .into_iter()
        .find(|p| !allowed.contains(p))
    {
        return Err(format!(
            "key '{key}': unknown placeholder {{{p}}} (this word may use: {})",
            allowed
                .iter()
                .map(|a| format!("{{{a}}}"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    if word.chars().any(char::is_control) {
        return Err(format!(
            "key '{key}': a word may not hold control characters"
        ));
    }
    Ok(())
}

/// The chart font a house vocabulary names (`font = "<file>"`, relative to the
/// vocabulary's directory).
fn font_file_beside(vocabulary: &Path, file: &str) -> std::result::Result<ChartFont, String> {
    let font_path = vocabulary.parent().unwrap_or(Path::new(".")).join(file);
    let bytes = std::fs::read(&font_path)
        .map_err(|e| format!("font: cannot read {}: {e}", font_path.display()))?;
    if ab_glyph::FontRef::try_from_slice(&bytes).is_err() {
        return Err(format!(
            "font: {} is not a TrueType or OpenType font",
            font_path.display()
        ));
    }
    Ok(ChartFont::File {
        path: font_path,
        bytes: bytes.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_language_has_exactly_the_english_keys_and_placeholders() {
        let en = Vocabulary::english();
        assert!(en.words.len() > 100, "{}", en.words.len());
        for lang in languages() {
            let v = Vocabulary::shipped(lang).unwrap();
            let keys: Vec<&String> = v.words.keys().collect();
            let en_keys: Vec<&String> = en.words.keys().collect();
            assert_eq!(keys, en_keys, "{lang}");
            for (k, w) in &v.words {
                assert_eq!(placeholders(w), placeholders(&en.words[k]), "{lang} {k}");
                assert_eq!(v.font.missing_glyph(w), None, "{lang} {k}: {w}");
            }
        }
        assert!(Vocabulary::shipped("fr").is_err());
    }

    #[test]
    fn templates_fill_and_actions_follow_codes() {
        let zh = Vocabulary::shipped("zh-CN").unwrap();
        let en = Vocabulary::english();
        assert_eq!(en.of("stage", "at_risk"), "at risk");
        assert_eq!(
            en.fill("segment.duplicate", &[("name", &"A"), ("id", &3)]),
            "A (segment 3)"
        );
        assert_eq!(en.action("cross_sell", "cross-sell"), "cross-sell");
        assert_ne!(zh.action("cross_sell", "cross-sell"), "cross-sell");
        // A config's own action words stay as written.
        assert_eq!(zh.action("call_them", "call them"), "call them");
        assert_eq!(
            en.action_code_of(zh.of("action", "premium_holiday")),
            Some("premium_holiday".to_string())
        );
    }
}
