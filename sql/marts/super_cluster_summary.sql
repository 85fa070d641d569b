-- One row per super-cluster: the units a mixture search weights, with topics, size, tokens, quality and share.
-- param: min_share = 0.0   (hide super-clusters with a smaller token share than this)
with super_clusters as (
    select super_cluster_id, cluster_ids, n_clusters, n_docs, n_tokens, token_share, mean_quality, topic_terms
    from gold.super_clusters
),

final as (
    select
        super_cluster_id,
        array_join(topic_terms, ', ') as topic_terms,
        n_clusters,
        n_docs,
        n_tokens,
        round(token_share, 4) as token_share,
        round(mean_quality, 3) as mean_quality,
        array_join(transform(cluster_ids, c -> cast(c as string)), ' ') as cluster_ids
    from super_clusters
    where token_share >= :min_share
)

select * from final order by n_tokens desc
