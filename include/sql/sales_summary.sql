-- Sales summary: one row per sale line in the period, newest first.
-- Bind parameters (:region, :start_date) are supplied by the run; never formatted into the text.
SELECT
    s.sale_date      AS sale_date,
    s.region         AS region,
    s.country        AS country,
    p.name           AS product,
    s.units          AS units,
    s.unit_price     AS unit_price,
    ROUND(s.units * s.unit_price, 2) AS revenue
FROM sales AS s
JOIN products AS p ON p.product_id = s.product_id
WHERE (:region = 'ALL' OR s.region = :region)
  AND s.sale_date >= :start_date
ORDER BY s.sale_date DESC, s.sale_id
