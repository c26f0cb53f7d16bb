//! Compiles `locales/zh-CN.json` and `locales/en.json` into the `i18n` module (leptos_i18n), after
//! checking that both languages have exactly the same keys and placeholders: leptos_i18n only
//! warns about a key one language lacks, and a shopper would then meet the other language.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::path::{Path, PathBuf};

use leptos_i18n_build::{Config, ParseOptions, TranslationsInfos};

/// The default comes first: it is the shop's language when nothing says otherwise.
const LOCALES: [&str; 2] = ["zh-CN", "en"];

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed=build.rs");
    for locale in LOCALES {
        println!("cargo::rerun-if-changed=locales/{locale}.json");
    }
    check_same_keys(Path::new("locales"))?;

    let config = LOCALES[1..].iter().try_fold(Config::new(LOCALES[0])?, |config, locale| config.add_locale(locale))?;
    // `td_string!` with placeholders: alt texts and page titles are attributes, not views.
    let config = config.parse_options(ParseOptions::new().interpolate_display(true));
    let translations = TranslationsInfos::parse(config)?;
    translations.emit_diagnostics();
    translations.rerun_if_locales_changed();
    translations.generate_i18n_module(PathBuf::from(std::env::var_os("OUT_DIR").ok_or("no OUT_DIR")?).join("i18n"))?;
    Ok(())
}

/// Fails with every key (and every placeholder) that one language has and another lacks.
fn check_same_keys(dir: &Path) -> Result<(), Box<dyn Error>> {
    let mut keys_by_locale = BTreeMap::new();
    for locale in LOCALES {
        let path = dir.join(format!("{locale}.json"));
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        let mut keys = BTreeSet::new();
        flatten("", &json, &mut keys);
        keys_by_locale.insert(locale, keys);
    }
    let all: BTreeSet<&String> = keys_by_locale.values().flatten().collect();
    let gaps: Vec<String> = keys_by_locale
        .iter()
        .flat_map(|(locale, keys)| {
            all.iter().filter(|key| !keys.contains(**key)).map(move |key| format!("{locale} lacks {key}"))
        })
        .collect();
    if gaps.is_empty() {
        Ok(())
    } else {
        Err(format!("the languages' translations differ:\n  {}", gaps.join("\n  ")).into())
    }
}

/// Each string as `a.b.c`, followed by one `a.b.c {{ name }}` line per placeholder it uses, so
/// that a placeholder missing from one translation counts as a missing key.
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten(&path, value, out);
            }
        }
        serde_json::Value::String(text) => {
            out.insert(prefix.to_owned());
            for placeholder in text.split("{{").skip(1).filter_map(|rest| rest.split_once("}}")) {
                out.insert(format!("{prefix} {{{{ {} }}}}", placeholder.0.trim()));
            }
        }
        other => _ = out.insert(format!("{prefix} = {other}")),
    }
}
