-- Near-duplicate (SemDeDup) counts per source: how many documents are flagged, and their share.
-- param: min_docs = 1   (hide sources with fewer documents than this)
with flagged as (
    select d.source, a.near_dup_of is not null as is_near_dup
    from silver.assignments as a
    join bronze.documents as d on d.doc_id = a.doc_id
),

final as (
    select
        source,
        count(*) as n_docs,
        sum(cast(is_near_dup as int)) as n_near_dups,
        round(avg(cast(is_near_dup as double)), 4) as near_dup_fraction
    from flagged
    group by source
    having count(*) >= :min_docs
)

select * from final order by n_near_dups desc
