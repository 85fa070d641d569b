-- One row per source in bronze.documents: how many documents and characters it brings, and its share.
-- param: min_docs = 1   (hide sources with fewer documents than this)
with documents as (
    select source, n_chars, ingested_at
    from bronze.documents
),

per_source as (
    select
        source,
        count(*) as n_docs,
        sum(n_chars) as n_chars,
        cast(avg(n_chars) as bigint) as mean_chars,
        percentile_approx(n_chars, 0.5) as median_chars,
        max(ingested_at) as last_ingested_at
    from documents
    group by source
),

final as (
    select
        source,
        n_docs,
        n_chars,
        mean_chars,
        median_chars,
        round(n_docs / sum(n_docs) over (), 4) as share_docs,
        round(n_chars / sum(n_chars) over (), 4) as share_chars,
        last_ingested_at
    from per_source
    where n_docs >= :min_docs
)

select * from final order by n_docs desc
