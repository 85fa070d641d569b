-- The chosen mixture against its baselines: each method's answer re-measured with fresh seeds, best first,
-- with the gap to the chosen one. Lower target loss is better.
-- param: search = ''   (a search name; empty: every search)
with mixtures as (
    select search, method, remeasured_mean, remeasured_std, remeasured_seeds, search_objective, proxy_runs, chosen
    from gold.mixtures
    where :search = '' or search = :search
),

chosen as (
    select search, remeasured_mean as chosen_mean from mixtures where chosen
),

final as (
    select
        m.search,
        m.method,
        round(m.remeasured_mean, 4) as remeasured_mean,
        round(m.remeasured_std, 4) as remeasured_std,
        size(m.remeasured_seeds) as seeds,
        round(m.search_objective, 4) as search_objective,
        m.proxy_runs,
        m.chosen,
        round(m.remeasured_mean - c.chosen_mean, 4) as gap_to_chosen
    from mixtures as m
    left join chosen as c on c.search = m.search
)

select * from final order by search, remeasured_mean
