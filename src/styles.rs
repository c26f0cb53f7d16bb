//! The eight home styles a visitor can start from. Their embeddings are generated from these
//! prompts by `artwall styles generate` and committed (assets/style_embeddings.json).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HomeStyle {
    pub code: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    /// Text-tower prompt. Colour and light words matter most: they are all the stand-in model
    /// understands, and they carry real CLIP too.
    pub prompt: &'static str,
}

pub const HOME_STYLES: [HomeStyle; 8] = [
    HomeStyle { code: "modern", name_zh: "现代简约", name_en: "Modern", prompt: "a modern minimalist living room interior, white walls, grey sofa, black accents, bright light, high contrast" },
    HomeStyle { code: "nordic", name_zh: "北欧", name_en: "Nordic", prompt: "a nordic living room interior, white walls, light wood, pale blue, soft bright daylight" },
    HomeStyle { code: "japanese", name_zh: "日式", name_en: "Japanese", prompt: "a japanese living room interior, natural wood, muted green, calm soft light, paper screens" },
    HomeStyle { code: "chinese", name_zh: "新中式", name_en: "New Chinese", prompt: "a new chinese style living room interior, dark wood, red and gold accents, warm light" },
    HomeStyle { code: "french", name_zh: "法式", name_en: "French", prompt: "a french living room interior, cream walls, gold mouldings, soft pink, bright elegant light" },
    HomeStyle { code: "american", name_zh: "美式", name_en: "American", prompt: "an american living room interior, warm brown leather, dark wood, warm lamp light" },
    HomeStyle { code: "industrial", name_zh: "工业风", name_en: "Industrial", prompt: "an industrial loft interior, grey concrete, black steel, brown brick, dark moody light" },
    HomeStyle { code: "cream", name_zh: "奶油风", name_en: "Cream", prompt: "a cream style living room interior, warm white, beige, pale soft light, rounded furniture" },
];

pub fn by_code(code: &str) -> Option<&'static HomeStyle> {
    HOME_STYLES.iter().find(|style| style.code == code)
}
