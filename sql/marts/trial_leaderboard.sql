-- Every proxy run of a search, best first: its iteration, seed, measured target loss and what the predictor said.
-- param: search = ''   (a search name from gold.mixtures; empty: every search)
-- param: top = 20   (rows to keep per study)
with trials as (
    select study, trial_number, method, iteration, seed, weights, objective, predicted, metrics
    from gold.mixture_trials
    where :search = '' or study = :search or study = concat(:search, '-random')
),

ranked as (
    select
        *,
        rank() over (partition by study order by objective) as rank_in_study
    from trials
),

final as (
    select
        study,
        rank_in_study,
        trial_number,
        method,
        iteration,
        seed,
        round(objective, 4) as objective,
        round(predicted, 4) as predicted,
        round(metrics['tokens_per_second'], 0) as tokens_per_second,
        to_json(transform_values(weights, (k, v) -> round(v, 3))) as weights
    from ranked
    where rank_in_study <= :top
)

select * from final order by study, rank_in_study
