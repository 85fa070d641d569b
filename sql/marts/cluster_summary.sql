-- One row per k-means cluster: size, tokens, quality, near-duplicates, topic terms and the prune/merge decision.
-- param: min_docs = 1   (hide clusters with fewer documents than this)
with clusters as (
    select
        cluster_id, n_docs, n_tokens, mean_quality, n_near_dups, topic_terms, top_source,
        kept, prune_reason, super_cluster_id
    from gold.clusters
),

final as (
    select
        cluster_id,
        n_docs,
        n_tokens,
        round(mean_quality, 3) as mean_quality,
        n_near_dups,
        round(n_near_dups / n_docs, 3) as near_dup_fraction,
        array_join(topic_terms, ', ') as topic_terms,
        top_source,
        kept,
        prune_reason,
        super_cluster_id
    from clusters
    where n_docs >= :min_docs
)

select * from final order by n_docs desc
