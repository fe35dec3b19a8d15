//! A segment of GPS fixes: read each vehicle's context (`fix_context`),
//! judge jumps and what each newest fix means, then apply everything in
//! one pipelined round trip. What a newest fix means is written with that
//! fix, only if it still is the vehicle's newest then, so instances racing
//! on one truck never let an older fix's conclusions win.

use redis::Value;

use super::events::{Apply, Call, Outcome, applied, outcome, position_json, status, text};
use super::fix_context::{Vehicle, member, point};
use super::{Result, Store, StoreError, keys, trucks};
use crate::domain::{CarrierEvent, EventBody, OrderId};
use crate::geo::filter;
use crate::geo::speed::{TrackPoint, judge_batch};

impl Store {
    pub(super) async fn apply_fix_segment(
        &self,
        call: &Call<'_>,
        segment: &[(usize, CarrierEvent)],
        outcomes: &mut [Option<Outcome>],
    ) -> Result<()> {
        let carrier = call.carrier.as_str();
        let (mut work, sites) = self.read_fix_context(call, segment).await?;

        // Judge: noise, jumps, and what each newest fix means.
        let mut noise: Vec<&'static str> = vec![""; segment.len()];
        let mut pipe = redis::pipe();
        let mut raised = redis::pipe();
        for w in &mut work {
            let mut clean = Vec::new();
            for &k in &w.fixes {
                let e = &segment[k].1;
                let EventBody::Fix(f) = &e.body else { continue };
                match filter::judge(f) {
                    Some(n) => noise[k] = n.code(),
                    None => clean.push(k),
                }
            }
            let batch: Vec<TrackPoint> = clean
                .iter()
                .filter_map(|&k| match &segment[k].1.body {
                    EventBody::Fix(f) => Some(point(&segment[k].1, f)),
                    _ => None,
                })
                .collect();
            for (&k, jump) in clean.iter().zip(judge_batch(&w.kept, &batch)) {
                if jump {
                    noise[k] = "implausible_speed";
                }
            }
            w.plan = self.plan_geo(call, segment, &noise, w, &sites, &mut raised);
        }

        // Round trip 3: every fix applied (the newest with its geo
        // conclusions), then the milestones and alerts they raised.
        for w in &work {
            for &k in &w.fixes {
                let e = &segment[k].1;
                let EventBody::Fix(f) = &e.body else { continue };
                let p = point(e, f);
                let pos = position_json(
                    f.position.lat,
                    f.position.lon,
                    e.occurred_at,
                    f.speed_kmh,
                    f.heading,
                );
                let record = e.record(call.received_at).to_string();
                let m = call.member(e);
                let track = member(&p);
                let plan = w.plan.as_ref().filter(|g| g.fix == k);
                // The fix applied to one car (its own, or carried by a truck).
                let apply_fix = |pipe: &mut redis::Pipeline, order: &str, tail: &[&str]| {
                    if let Ok(order) = OrderId::parse(order) {
                        let fix = Apply {
                            order: &order,
                            kind: "fix",
                            carrier,
                            member: &m,
                            at: e.occurred_at,
                            noise: noise[k],
                            record: &record,
                            tail,
                        };
                        call.push_apply(pipe, fix);
                    }
                };
                match &w.vehicle {
                    Vehicle::Order(o) => {
                        let geo = plan.map(|g| g.car_args(0, true)).unwrap_or_default();
                        let tail = [&pos, "", "", &track, geo[0], geo[1], geo[2], geo[3], geo[4]];
                        apply_fix(&mut pipe, o, &tail)
                    }
                    Vehicle::Truck(name, truck) => {
                        let mut ks = vec![
                            keys::truck(name),
                            keys::truck_orders(name),
                            keys::truck_track(name),
                        ];
                        ks.extend(call.seen_keys(|d| keys::truck_seen(name, d)));
                        pipe.cmd("FCALL")
                            .arg("vinpath2_truck_fix")
                            .arg(ks.len())
                            .arg(&ks);
                        pipe.arg(carrier)
                            .arg(truck)
                            .arg(&m)
                            .arg(p.at_ms)
                            .arg(noise[k])
                            .arg(&pos)
                            .arg(call.ttl())
                            .arg(keys::LIVE_CHANNEL)
                            .arg(&track)
                            .arg(plan.map(|g| g.state.as_str()).unwrap_or_default());
                        let stale = if p.at_ms < w.pos_at { "1" } else { "" };
                        for (i, car) in w.cars.iter().enumerate() {
                            let geo = plan.map(|g| g.car_args(i, false)).unwrap_or_default();
                            let tail = [
                                &pos, truck, stale, &track, geo[0], geo[1], geo[2], geo[3], geo[4],
                            ];
                            apply_fix(&mut pipe, &car.order_id, &tail);
                        }
                    }
                }
            }
        }
        let fix_count = pipe.len();
        for cmd in raised.cmd_iter() {
            pipe.add_command(cmd.clone()).ignore();
        }
        let values = self.query_each(&mut pipe).await?;
        let mut values = values.into_iter().take(fix_count);
        let mut strays = redis::pipe();
        let mut stray = false;
        for w in &work {
            for &k in &w.fixes {
                let v = values.next().unwrap_or(Value::Nil);
                let (i, _) = &segment[k];
                match &w.vehicle {
                    Vehicle::Order(_) => outcomes[*i] = Some(outcome(&applied(v)?)?),
                    Vehicle::Truck(name, truck) => {
                        let Value::Array(items) = v else {
                            return Err(applied(v)
                                .err()
                                .unwrap_or_else(|| StoreError::Corrupt("truck fix".into())));
                        };
                        let st = items.first().map(text).unwrap_or_default();
                        let code = items.get(1).map(text).unwrap_or_default();
                        let mut o = Outcome {
                            status: status(&st)?,
                            code: None,
                            message: None,
                        };
                        if !code.is_empty() {
                            o.code = Some(code);
                        }
                        outcomes[*i] = Some(o);
                        for car in &w.cars {
                            let a = applied(values.next().unwrap_or(Value::Nil))?;
                            if a.status == "skip" && a.truck != *truck {
                                trucks::unbind(&mut strays, name, &car.order_id, a.since - 1);
                                stray = true;
                            } else if a.code == "not_your_order" {
                                trucks::unbind(&mut strays, name, &car.order_id, i64::MAX);
                                stray = true;
                            }
                        }
                    }
                }
            }
        }
        if stray {
            let () = self.query(&strays).await?;
        }
        Ok(())
    }
}
