-- One row per decision kind: how many clusters, documents and tokens each outcome (kept / reason) covers,
-- and the sources most affected.
-- param: top_sources = 3   (how many sources to list per decision)
with decisions as (
    select
        c.cluster_id,
        coalesce(c.prune_reason, 'kept') as decision,
        a.doc_id,
        d.source
    from gold.clusters as c
    join silver.assignments as a on a.cluster_id = c.cluster_id
    join bronze.documents as d on d.doc_id = a.doc_id
),

per_source as (
    select decision, source, count(*) as n_docs
    from decisions
    group by decision, source
),

ranked as (
    select decision, source, n_docs, row_number() over (partition by decision order by n_docs desc) as rank
    from per_source
),

top as (
    select decision, array_join(collect_list(concat(source, ' (', n_docs, ')')), ', ') as top_sources
    from ranked
    where rank <= :top_sources
    group by decision
),

totals as (
    select decision, count(distinct cluster_id) as n_clusters, count(*) as n_docs
    from decisions
    group by decision
),

final as (
    select totals.decision, totals.n_clusters, totals.n_docs, top.top_sources
    from totals
    left join top on top.decision = totals.decision
)

select * from final order by n_docs desc
