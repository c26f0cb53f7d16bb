//! The never-repeating personalised feed, over synthetic clustered catalogues in real Postgres.

use std::collections::HashSet;

use artwall::server::bench::synthetic;
use artwall::server::discovery::feed::{self, FeedSettings, Landmarks};
use artwall::server::discovery::taste_model;
use artwall::server::http::visitor::VisitorId;
use artwall::server::infra::clip::cosine;
use artwall::server::infra::db::BeginCancelSafe;
use artwall::types::{FeedItem, FeedPage};
use sqlx::PgPool;
use uuid::Uuid;

fn visitor() -> VisitorId {
    VisitorId(Uuid::new_v4())
}

async fn set_taste(db: &PgPool, visitor: VisitorId, taste: &[f32]) {
    sqlx::query("INSERT INTO user_preferences (visitor_id, taste) VALUES ($1, $2)")
        .bind(visitor.0)
        .bind(pgvector::Vector::from(taste.to_vec()))
        .execute(db)
        .await
        .unwrap();
}

/// A synthetic catalogue and a visitor whose taste is the centre of cluster `cluster`.
async fn catalogue_and_visitor(
    db: &PgPool,
    n: usize,
    clusters: usize,
    seed: u64,
    cluster: usize,
) -> (synthetic::Clustered, Vec<i64>, VisitorId) {
    let catalogue = synthetic::clustered(n, clusters, 0.6, seed);
    let ids = synthetic::insert(db, &catalogue, "s").await.unwrap();
    let v = visitor();
    set_taste(db, v, &catalogue.centres[cluster]).await;
    (catalogue, ids, v)
}

async fn mark(db: &PgPool, table: &str, visitor: VisitorId, ids: &[i64]) {
    sqlx::query(&format!("INSERT INTO {table} (visitor_id, painting_id) SELECT $1, unnest($2::bigint[])"))
        .bind(visitor.0)
        .bind(ids)
        .execute(db)
        .await
        .unwrap();
}

async fn page(
    db: &PgPool,
    landmarks: &Landmarks,
    settings: FeedSettings,
    visitor: VisitorId,
    cursor: Option<String>,
) -> FeedPage {
    feed::next_page(db, landmarks, settings, visitor, cursor.as_deref(), Some(10)).await.unwrap()
}

/// The most pages a feed of `catalogue` paintings may take to say it has no more: every page of
/// 10 but the last is full, and the last may be empty.
fn most_pages(catalogue: i64) -> usize {
    usize::try_from(catalogue).unwrap() / 10 + 2
}

async fn catalogue_size(db: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM paintings").fetch_one(db).await.unwrap()
}

/// Pages through the whole feed; returns the page sizes and every id served. A feed that keeps
/// saying it has more past the catalogue's size fails here, instead of looping for ever.
async fn drain(db: &PgPool, settings: FeedSettings, visitor: VisitorId) -> (Vec<usize>, Vec<i64>) {
    let landmarks = Landmarks::default();
    let catalogue = catalogue_size(db).await;
    let (mut sizes, mut ids, mut cursor) = (Vec::new(), Vec::new(), None);
    for _ in 0..most_pages(catalogue) {
        let p = page(db, &landmarks, settings, visitor, cursor).await;
        sizes.push(p.items.len());
        ids.extend(p.items.iter().map(|i| i.card.id));
        if !p.has_more {
            assert!(p.next_cursor.is_none());
            let after = page(db, &landmarks, settings, visitor, None).await;
            assert!(after.items.is_empty() && !after.has_more, "an exhausted feed says so");
            return (sizes, ids);
        }
        cursor = p.next_cursor;
    }
    panic!(
        "the feed of {catalogue} paintings still had more after {} pages ({} served, {} distinct): it repeats",
        sizes.len(),
        ids.len(),
        ids.iter().collect::<HashSet<_>>().len()
    );
}

#[sqlx::test]
async fn cold_start_is_a_diverse_spread_that_never_repeats(db: PgPool) {
    let catalogue = synthetic::clustered(300, 12, 0.6, 1);
    synthetic::insert(&db, &catalogue, "s").await.unwrap();
    let landmarks = Landmarks::default();
    let first = page(&db, &landmarks, FeedSettings::default(), visitor(), None).await;
    let clusters: HashSet<_> = first.items.iter().map(|i| i.card.style.clone()).collect();
    assert!(clusters.len() >= 7, "the first page spans the catalogue: {clusters:?}");
    assert!(first.items.iter().all(|i| i.similarity.is_none() && !i.exploration), "no taste yet");
    assert_eq!(first.items.iter().map(|i| i.position).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());

    let (sizes, ids) = drain(&db, FeedSettings::default(), visitor()).await;
    assert_eq!(ids.len(), 300);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 300, "never twice");
    assert!(sizes.iter().all(|&s| s == 10), "no short pages: {sizes:?}");
}

/// The shown paintings are exactly the top of the ranking: the case that starves a plain
/// HNSW scan plus NOT EXISTS.
async fn mostly_seen_feed_has_no_short_pages(db: PgPool, settings: FeedSettings, min_top_overlap: usize) {
    let catalogue = synthetic::clustered(2000, 20, 0.8, 2);
    let ids = synthetic::insert(&db, &catalogue, "s").await.unwrap();
    let v = visitor();
    let taste = catalogue.centres[0].clone();
    set_taste(&db, v, &taste).await;
    let mut ranked: Vec<(f32, i64)> =
        catalogue.paintings.iter().zip(&ids).map(|((_, e), &id)| (cosine(e, &taste), id)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let seen: Vec<i64> = ranked.iter().take(1900).map(|(_, id)| *id).collect();
    mark(&db, "shown_paintings", v, &seen).await;

    // The first page's nearest items are the best unseen ones (not filler from elsewhere).
    let first = page(&db, &Landmarks::default(), settings, v, None).await;
    let nearest: HashSet<i64> = first.items.iter().filter(|i| !i.exploration).map(|i| i.card.id).collect();
    assert_eq!(nearest.len(), 9, "nine nearest and one exploration item");
    let best: HashSet<i64> = ranked[1900..1909].iter().map(|(_, id)| *id).collect();
    let overlap = nearest.intersection(&best).count();
    assert!(overlap >= min_top_overlap, "{overlap} of the 9 best unseen");
    feed::reset(&db, v).await.unwrap();
    mark(&db, "shown_paintings", v, &seen).await;

    let (sizes, served) = drain(&db, settings, v).await;
    assert_eq!(sizes, vec![10; 10], "full pages until the catalogue is exhausted");
    let expected: HashSet<i64> = ranked.iter().skip(1900).map(|(_, id)| *id).collect();
    assert_eq!(served.into_iter().collect::<HashSet<_>>(), expected, "exactly the unseen 5%");
}

/// Deep scans through the iterative index scan, however much the visitor has seen.
const INDEX_SCANS_ONLY: FeedSettings = FeedSettings { exact_scan_seen_share: f64::INFINITY, ..FeedSettings::DEFAULT };

#[sqlx::test]
async fn a_visitor_who_has_seen_95_percent_still_gets_full_pages(db: PgPool) {
    // Having seen so much, the visitor's deep scans are exact.
    mostly_seen_feed_has_no_short_pages(db, FeedSettings::default(), 9).await;
}

#[sqlx::test]
async fn with_nothing_to_re_score_by_pages_are_the_plain_nearest(db: PgPool) {
    // No weight on liked paintings nor on everyone's reactions: no re-scoring pool.
    let plain = FeedSettings { liked_weight: 0.0, popularity_weight: 0.0, ..FeedSettings::DEFAULT };
    mostly_seen_feed_has_no_short_pages(db, plain, 9).await;
}

#[sqlx::test]
async fn iterative_index_scans_get_past_95_percent_seen(db: PgPool) {
    // HNSW is approximate: allow one miss among the nine.
    mostly_seen_feed_has_no_short_pages(db, INDEX_SCANS_ONLY, 8).await;
}

#[sqlx::test]
async fn the_exact_fallback_fills_pages_when_the_index_scan_gives_up(db: PgPool) {
    // So few tuples that the iterative scan cannot get past the seen ones.
    // The exact scan is exact.
    mostly_seen_feed_has_no_short_pages(db, FeedSettings { max_scan_tuples: 100, ..INDEX_SCANS_ONLY }, 9).await;
}

#[sqlx::test]
async fn personalised_pages_follow_the_taste_and_explore_one_in_six(db: PgPool) {
    let (_, _, v) = catalogue_and_visitor(&db, 600, 12, 3, 4).await;
    let landmarks = Landmarks::default();
    let mut items = Vec::new();
    let mut cursor = None;
    for _ in 0..6 {
        let p = page(&db, &landmarks, FeedSettings::default(), v, cursor).await;
        cursor = p.next_cursor;
        items.extend(p.items);
    }
    assert_eq!(items.len(), 60);
    let explored = items.iter().filter(|i| i.exploration).count();
    assert_eq!(explored, 10, "one in six");
    let near: Vec<&_> = items.iter().filter(|i| !i.exploration).collect();
    assert!(
        near.iter().filter(|i| i.card.style.as_deref() == Some("cluster-4")).count() >= 45,
        "the taste's cluster leads"
    );
    let mean = |xs: &[f32]| xs.iter().sum::<f32>() / xs.len() as f32;
    let near_similarity: Vec<f32> = near.iter().map(|i| i.similarity.unwrap()).collect();
    let explore_similarity: Vec<f32> = items.iter().filter(|i| i.exploration).map(|i| i.similarity.unwrap()).collect();
    assert!(mean(&explore_similarity) < mean(&near_similarity) - 0.2, "exploration comes from elsewhere");
    let explore_clusters: HashSet<_> = items.iter().filter(|i| i.exploration).map(|i| i.card.style.clone()).collect();
    assert!(explore_clusters.len() >= 5, "and is diverse: {explore_clusters:?}");
    // Within a page, nearest items come best first.
    assert!(near_similarity[..8].windows(2).all(|w| w[0] >= w[1] - 1e-4), "{near_similarity:?}");
}

/// Exploration visits the same regions whatever the taste, but shows of each the painting
/// nearest the taste: two visitors with different tastes get different picks from the same
/// landmarks, each leaning toward their own taste.
#[sqlx::test]
async fn exploration_shows_of_each_region_what_is_nearest_the_taste(db: PgPool) {
    let (catalogue, _, a) = catalogue_and_visitor(&db, 600, 12, 3, 4).await;
    let b = visitor();
    set_taste(&db, b, &catalogue.centres[9]).await;
    let landmarks = Landmarks::default();
    let (mut picks_a, mut picks_b) = (Vec::new(), Vec::new());
    let (mut cursor_a, mut cursor_b) = (None, None);
    for _ in 0..6 {
        let (page_a, page_b) = (
            page(&db, &landmarks, FeedSettings::default(), a, cursor_a).await,
            page(&db, &landmarks, FeedSettings::default(), b, cursor_b).await,
        );
        (cursor_a, cursor_b) = (page_a.next_cursor, page_b.next_cursor);
        picks_a.extend(page_a.items.into_iter().filter(|i| i.exploration));
        picks_b.extend(page_b.items.into_iter().filter(|i| i.exploration));
    }
    assert_eq!((picks_a.len(), picks_b.len()), (10, 10), "one in six each");
    let embedding = |item: &FeedItem| {
        let index: usize = item.card.title.trim_start_matches("Synthetic s:").parse().unwrap();
        catalogue.paintings[index].1.clone()
    };
    let mean_similarity = |picks: &[FeedItem], taste: &[f32]| {
        picks.iter().map(|i| cosine(&embedding(i), taste)).sum::<f32>() / picks.len() as f32
    };
    let (taste_a, taste_b) = (&catalogue.centres[4], &catalogue.centres[9]);
    assert!(
        mean_similarity(&picks_a, taste_a) > mean_similarity(&picks_b, taste_a) + 0.02,
        "a's picks lean toward a's taste: {} vs {}",
        mean_similarity(&picks_a, taste_a),
        mean_similarity(&picks_b, taste_a)
    );
    assert!(mean_similarity(&picks_b, taste_b) > mean_similarity(&picks_a, taste_b) + 0.02, "and b's toward b's");
    // From the same regions: the same clusters, in the same order, mostly.
    let clusters = |picks: &[FeedItem]| picks.iter().map(|i| i.card.style.clone().unwrap()).collect::<Vec<_>>();
    let same = clusters(&picks_a).iter().zip(clusters(&picks_b)).filter(|(x, y)| **x == *y).count();
    assert!(same >= 7, "{:?} vs {:?}", clusters(&picks_a), clusters(&picks_b));
}

/// A painting the visitor liked, far from their taste, that their model weighs heavily brings
/// the paintings nearest it onto their pages, each saying why; hiding it takes that back at once.
#[sqlx::test]
async fn paintings_like_a_liked_one_join_the_page_and_say_why(db: PgPool) {
    let (catalogue, ids, v) = catalogue_and_visitor(&db, 240, 12, 5, 0).await;
    // Painting 6 is in cluster 6, far from the taste (cluster 0).
    let liked = ids[6];
    // Weighed so that the paintings nearest it outrank the taste's own best: three times what
    // its nearest neighbour needs to tie with that best.
    let (strength, taste) = (5.0, &catalogue.centres[0]);
    let embedding = |i: usize| &catalogue.paintings[i].1;
    let best = (0..ids.len()).map(|i| cosine(embedding(i), taste)).fold(f32::MIN, f32::max);
    let neighbour = (0..ids.len())
        .filter(|i| *i != 6)
        .max_by(|a, b| cosine(embedding(*a), embedding(6)).total_cmp(&cosine(embedding(*b), embedding(6))))
        .unwrap();
    let gap = f64::from(best - cosine(embedding(neighbour), taste));
    let weight =
        3.0 * strength * gap / taste_model::likeness(f64::from(1.0 - cosine(embedding(neighbour), embedding(6))));
    // Twins of the visitor for the same first page under other settings.
    let (twin_without_popularity, twin_without_likeness) = (visitor(), visitor());
    for visitor in [v, twin_without_popularity, twin_without_likeness] {
        if visitor != v {
            sqlx::query("INSERT INTO user_preferences (visitor_id, taste) SELECT $2, taste FROM user_preferences WHERE visitor_id = $1")
                .bind(v.0)
                .bind(visitor.0)
                .execute(&db)
                .await
                .unwrap();
        }
        // Saved from its own page: never shown in the feed.
        mark(&db, "saved_paintings", visitor, &[liked]).await;
        sqlx::query(
            "UPDATE user_preferences SET taste_strength = $3, liked = $2, liked_weights = $4 WHERE visitor_id = $1",
        )
        .bind(visitor.0)
        .bind(vec![liked])
        .bind(strength as f32)
        .bind(vec![weight as f32])
        .execute(&db)
        .await
        .unwrap();
        let mut tx = db.begin_cancel_safe().await.unwrap();
        feed::find_liked_near(&mut tx, visitor.0).await.unwrap();
        tx.commit().await.unwrap();
    }
    let landmarks = Landmarks::default();
    let cluster = |item: &FeedItem| item.card.style.clone().unwrap();
    let with_liked = page(&db, &landmarks, FeedSettings::default(), v, None).await;
    // Likeness alone re-scores the page too (everyone's reactions weigh nothing here).
    let likeness_alone = page(
        &db,
        &landmarks,
        FeedSettings { popularity_weight: 0.0, ..FeedSettings::DEFAULT },
        twin_without_popularity,
        None,
    )
    .await;
    for first_page in [&with_liked, &likeness_alone] {
        let nearest: Vec<&FeedItem> = first_page.items.iter().filter(|i| !i.exploration).collect();
        let because: Vec<&FeedItem> = nearest.iter().copied().filter(|i| i.because.is_some()).collect();
        assert!(
            because.len() >= 2,
            "paintings like the liked one: {:?}",
            nearest.iter().map(|i| cluster(i)).collect::<Vec<_>>()
        );
        for item in &because {
            assert_eq!(cluster(item), "cluster-6");
            let reason = item.because.as_ref().unwrap();
            assert_eq!((reason.painting_id, reason.saved), (liked, true));
            assert_eq!(reason.title, "Synthetic s:6");
        }
        assert!(nearest.iter().any(|i| cluster(i) == "cluster-0"), "the taste's own nearest stay");
        assert!(because.iter().all(|i| i.card.id != liked), "the liked painting is not its own reason");
    }

    let without =
        page(&db, &landmarks, FeedSettings { liked_weight: 0.0, ..FeedSettings::DEFAULT }, twin_without_likeness, None)
            .await;
    let nearest: Vec<&FeedItem> = without.items.iter().filter(|i| !i.exploration).collect();
    assert!(
        nearest.iter().all(|i| i.because.is_none() && cluster(i) != "cluster-6"),
        "only the liked term brings them"
    );

    mark(&db, "hidden_paintings", v, &[liked]).await;
    let after_hiding = page(&db, &landmarks, FeedSettings::default(), v, with_liked.next_cursor).await;
    assert!(after_hiding.items.iter().all(|i| i.because.is_none() && (i.exploration || cluster(i) != "cluster-6")));
}

/// Everyone's reactions lift a painting for a visitor who has said nothing yet, and stop
/// mattering once they have said a lot.
#[sqlx::test]
async fn popularity_leads_for_a_new_visitor_and_fades(db: PgPool) {
    let (_, _, newcomer) = catalogue_and_visitor(&db, 240, 12, 6, 0).await;
    let regular = visitor();
    sqlx::query("INSERT INTO user_preferences (visitor_id, taste, interaction_count) SELECT $2, taste, 1000 FROM user_preferences WHERE visitor_id = $1")
        .bind(newcomer.0)
        .bind(regular.0)
        .execute(&db)
        .await
        .unwrap();
    let landmarks = Landmarks::default();
    // Everyone's reactions alone re-score the page (no weight on likeness to liked paintings).
    let settings = FeedSettings { liked_weight: 0.0, ..FeedSettings::DEFAULT };
    let first = page(&db, &landmarks, settings, newcomer, None).await;
    let nearest: Vec<i64> = first.items.iter().filter(|i| !i.exploration).map(|i| i.card.id).collect();
    // The taste's eighth nearest, loved by everyone who saw it.
    let favourite = nearest[7];
    sqlx::query("INSERT INTO painting_reactions (painting_id, shown, liked, hidden) VALUES ($1, 100, 90, 0)")
        .bind(favourite)
        .execute(&db)
        .await
        .unwrap();
    feed::reset(&db, newcomer).await.unwrap();
    let again = page(&db, &landmarks, settings, newcomer, None).await;
    assert_eq!(again.items[0].card.id, favourite, "the favourite leads for a newcomer");
    let regulars = page(&db, &landmarks, settings, regular, None).await;
    let position = regulars.items.iter().position(|i| i.card.id == favourite);
    assert!(position.is_some_and(|p| p > 0), "a regular's own taste leads: the favourite is at {position:?}");
}

#[sqlx::test]
async fn two_tabs_asking_at_once_never_get_the_same_painting(db: PgPool) {
    let (_, _, v) = catalogue_and_visitor(&db, 400, 8, 4, 1).await;
    let landmarks = Landmarks::default();
    let settings = FeedSettings::default();
    for _ in 0..5 {
        let (a, b) = tokio::join!(page(&db, &landmarks, settings, v, None), page(&db, &landmarks, settings, v, None));
        let a: HashSet<i64> = a.items.iter().map(|i| i.card.id).collect();
        let b: HashSet<i64> = b.items.iter().map(|i| i.card.id).collect();
        assert_eq!((a.len(), b.len()), (10, 10));
        assert!(a.is_disjoint(&b), "concurrent pages overlap: {:?}", a.intersection(&b).collect::<Vec<_>>());
    }
}

#[sqlx::test]
async fn hidden_paintings_never_appear_and_reset_starts_over(db: PgPool) {
    let catalogue = synthetic::clustered(50, 5, 0.6, 5);
    let ids = synthetic::insert(&db, &catalogue, "s").await.unwrap();
    let v = visitor();
    let hidden = &ids[..5];
    mark(&db, "hidden_paintings", v, hidden).await;
    let (_, served) = drain(&db, FeedSettings::default(), v).await;
    assert_eq!(served.len(), 45);
    assert!(served.iter().all(|id| !hidden.contains(id)));

    assert_eq!(feed::reset(&db, v).await.unwrap(), 45);
    // Saved before the reset: when they come round again, their cards say so.
    let saved = &ids[10..13];
    mark(&db, "saved_paintings", v, saved).await;
    let landmarks = Landmarks::default();
    let (mut again, mut flagged, mut cursor, mut ended) = (Vec::new(), Vec::new(), None, false);
    for _ in 0..most_pages(catalogue_size(&db).await) {
        let p = page(&db, &landmarks, FeedSettings::default(), v, cursor).await;
        again.extend(p.items.iter().map(|i| i.card.id));
        flagged.extend(p.items.iter().filter(|i| i.saved).map(|i| i.card.id));
        if !p.has_more {
            ended = true;
            break;
        }
        cursor = p.next_cursor;
    }
    assert!(ended, "after a reset the feed never ended: {} served", again.len());
    assert_eq!(again.len(), 45, "after a reset the catalogue comes round again, still without the hidden ones");
    flagged.sort();
    assert_eq!(flagged, saved);
}

#[sqlx::test]
async fn limits_are_checked(db: PgPool) {
    let landmarks = Landmarks::default();
    for bad in [0, 51, -3] {
        let result = feed::next_page(&db, &landmarks, FeedSettings::default(), visitor(), None, Some(bad)).await;
        assert!(result.is_err(), "limit {bad}");
    }
}

#[sqlx::test]
async fn pages_rerank_the_candidates_and_a_moved_taste_gets_new_ones(db: PgPool) {
    let (catalogue, ids, v) = catalogue_and_visitor(&db, 1200, 12, 6, 2).await;
    let landmarks = Landmarks::default();
    let settings = FeedSettings::default();
    let nearest_clusters = |p: &FeedPage| {
        p.items.iter().filter(|i| !i.exploration).map(|i| i.card.style.clone().unwrap()).collect::<HashSet<_>>()
    };
    let candidates = |db: PgPool| async move {
        sqlx::query_as::<_, (pgvector::Vector, String)>(
            "SELECT taste, found_at::text FROM feed_candidates WHERE visitor_id = $1",
        )
        .bind(v.0)
        .fetch_one(&db)
        .await
        .unwrap()
    };
    let first = page(&db, &landmarks, settings, v, None).await;
    assert_eq!(nearest_clusters(&first), HashSet::from(["cluster-2".to_string()]));
    let (_, found_at) = candidates(db.clone()).await;

    // A small move (similarity above 0.98) keeps the candidates, ranked against the new taste.
    let nudged = artwall::server::infra::clip::l2_normalised(
        &catalogue.centres[2]
            .iter()
            .zip(&catalogue.paintings[ids.len() - 1].1)
            .map(|(c, p)| c + 0.05 * p)
            .collect::<Vec<_>>(),
    );
    assert!(cosine(&nudged, &catalogue.centres[2]) > 0.98);
    sqlx::query("UPDATE user_preferences SET taste = $2 WHERE visitor_id = $1")
        .bind(v.0)
        .bind(pgvector::Vector::from(nudged.clone()))
        .execute(&db)
        .await
        .unwrap();
    let second = page(&db, &landmarks, settings, v, first.next_cursor).await;
    assert_eq!(candidates(db.clone()).await.1, found_at, "no new scan for a small move");
    let by_id: std::collections::HashMap<i64, &Vec<f32>> =
        ids.iter().copied().zip(catalogue.paintings.iter().map(|(_, e)| e)).collect();
    let similarities: Vec<f32> =
        second.items.iter().filter(|i| !i.exploration).map(|i| i.similarity.unwrap()).collect();
    for item in second.items.iter().filter(|i| !i.exploration) {
        assert!(
            (item.similarity.unwrap() - cosine(&nudged, by_id[&item.card.id])).abs() < 1e-3,
            "scored against the current taste"
        );
    }
    assert!(similarities.windows(2).all(|w| w[0] >= w[1]), "best first: {similarities:?}");

    // A taste that moved on gets a fresh scan around itself.
    sqlx::query("UPDATE user_preferences SET taste = $2 WHERE visitor_id = $1")
        .bind(v.0)
        .bind(pgvector::Vector::from(catalogue.centres[7].clone()))
        .execute(&db)
        .await
        .unwrap();
    let third = page(&db, &landmarks, settings, v, second.next_cursor).await;
    assert_eq!(nearest_clusters(&third), HashSet::from(["cluster-7".to_string()]));
    let (taste, _) = candidates(db.clone()).await;
    assert!(cosine(&taste.to_vec(), &catalogue.centres[7]) > 0.999, "the candidates were found for the new taste");
}
