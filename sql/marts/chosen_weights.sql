-- The weights of every method's mixture, one row per super-cluster, beside its natural token share and topics.
-- param: search = ''   (a search name; empty: every search)
with weights as (
    select search, method, chosen, explode(weights) as (super_cluster_id, weight)
    from gold.mixtures
    where :search = '' or search = :search
),

final as (
    select
        w.search,
        w.method,
        w.chosen,
        w.super_cluster_id,
        round(w.weight, 4) as weight,
        round(s.token_share, 4) as natural_share,
        round(w.weight / s.token_share, 2) as multiple_of_natural,
        array_join(s.topic_terms, ', ') as topic_terms
    from weights as w
    join gold.super_clusters as s on s.super_cluster_id = w.super_cluster_id
)

select * from final order by search, method, weight desc
