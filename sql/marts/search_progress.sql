-- Progress per iteration of each search: proxies run, best and mean target loss, and the best so far.
-- A bootstrapping search that works shows the mean (and usually the best) falling from iteration 1 on.
-- param: search = ''   (a search name; empty: every search)
with trials as (
    select study, method, iteration, objective, predicted
    from gold.mixture_trials
    where :search = '' or study = :search or study = concat(:search, '-random')
),

per_iteration as (
    select
        study,
        method,
        iteration,
        count(*) as proxies,
        min(objective) as best,
        avg(objective) as mean,
        avg(abs(predicted - objective)) as mean_abs_prediction_error
    from trials
    group by study, method, iteration
),

final as (
    select
        study,
        method,
        iteration,
        proxies,
        round(best, 4) as best,
        round(mean, 4) as mean,
        round(min(best) over (partition by study order by iteration), 4) as best_so_far,
        round(mean_abs_prediction_error, 4) as mean_abs_prediction_error
    from per_iteration
)

select * from final order by study, iteration
