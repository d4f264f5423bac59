window.YTD.tweets.part1 = [ {
  "retweeted" : false,
  "entities" : { "user_mentions" : [ ], "urls" : [ ] },
  "id_str" : "1577000000000000000",
  "created_at" : "Fri Sep 30 08:00:00 +0000 2022",
  "full_text" : "Thread about opening hours:",
  "lang" : "en"
}, {
  "retweeted" : false,
  "entities" : { "user_mentions" : [ ], "urls" : [ ] },
  "id_str" : "20",
  "created_at" : "Tue Mar 21 20:50:14 +0000 2006",
  "text" : "just setting up our account",
  "lang" : "in"
}, {
  "tweet" : {
    "retweeted" : false,
    "entities" : { "user_mentions" : [ ], "urls" : [ ] },
    "id_str" : "1577000000000000000",
    "created_at" : "Fri Sep 30 08:00:00 +0000 2022",
    "full_text" : "Thread about opening hours:",
    "lang" : "en"
  }
} ]
