window.YTD.tweets.part0 = [
  {
    "tweet" : {
      "edit_info" : { "initial" : { "editTweetIds" : [ "1577000000000000005" ], "editsRemaining" : "5", "isEditEligible" : true } },
      "retweeted" : false,
      "source" : "<a href=\"https://mobile.twitter.com\" rel=\"nofollow\">Twitter Web App</a>",
      "entities" : {
        "hashtags" : [ ],
        "symbols" : [ ],
        "user_mentions" : [ { "name" : "Ville de Test", "screen_name" : "VilleDeTest", "indices" : [ "0", "12" ], "id_str" : "1234567890", "id" : "1234567890" } ],
        "urls" : [ ]
      },
      "display_text_range" : [ "13", "61" ],
      "favorite_count" : "3",
      "in_reply_to_status_id_str" : "1577000000000000004",
      "id_str" : "1577000000000000005",
      "in_reply_to_user_id" : "1234567890",
      "truncated" : false,
      "retweet_count" : "0",
      "id" : "1577000000000000005",
      "in_reply_to_status_id" : "1577000000000000004",
      "created_at" : "Mon Oct 03 09:12:30 +0000 2022",
      "favorited" : false,
      "full_text" : "@VilleDeTest 2/2 The pool reopens on Monday at 9 am.",
      "lang" : "en",
      "in_reply_to_screen_name" : "VilleDeTest",
      "in_reply_to_user_id_str" : "1234567890"
    }
  },
  {
    "tweet" : {
      "retweeted" : false,
      "entities" : {
        "hashtags" : [ { "text" : "Piscine", "indices" : [ "63", "71" ] } ],
        "user_mentions" : [ { "name" : "Sport Test", "screen_name" : "SportTest", "id_str" : "555" } ],
        "urls" : [ { "url" : "https://t.co/AbCdEf1234", "expanded_url" : "https://www.city.example/pool?from=x&lang=en", "display_url" : "city.example/pool?from=x&…" } ],
        "media" : [ { "url" : "https://t.co/PhOtO12345", "expanded_url" : "https://twitter.com/VilleDeTest/status/1577000000000000004/photo/1", "id_str" : "1577000000000009001", "media_url" : "http://pbs.twimg.com/media/FeAbC1.jpg", "media_url_https" : "https://pbs.twimg.com/media/FeAbC1.jpg", "type" : "photo" } ]
      },
      "extended_entities" : {
        "media" : [
          { "url" : "https://t.co/PhOtO12345", "expanded_url" : "https://twitter.com/VilleDeTest/status/1577000000000000004/photo/1", "id_str" : "1577000000000009001", "media_url" : "http://pbs.twimg.com/media/FeAbC1.jpg", "media_url_https" : "https://pbs.twimg.com/media/FeAbC1.jpg", "type" : "photo", "ext_alt_text" : "The outdoor pool, blue water, empty lanes" },
          { "url" : "https://t.co/PhOtO12345", "expanded_url" : "https://twitter.com/VilleDeTest/status/1577000000000000004/photo/2", "id_str" : "1577000000000009002", "media_url" : "http://pbs.twimg.com/media/FeAbC2.png", "media_url_https" : "https://pbs.twimg.com/media/FeAbC2.png", "type" : "photo" }
        ]
      },
      "display_text_range" : [ "0", "95" ],
      "id_str" : "1577000000000000004",
      "possibly_sensitive" : false,
      "created_at" : "Mon Oct 03 09:12:00 +0000 2022",
      "full_text" : "1/2 Pool &amp; gym: works are over &lt;3 Thanks @SportTest! https://t.co/AbCdEf1234 #Piscine https://t.co/PhOtO12345",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "retweeted" : "false",
      "entities" : { "user_mentions" : [ { "screen_name" : "PrefectureTest", "id_str" : "42" } ], "urls" : [ ] },
      "id_str" : "1577000000000000003",
      "created_at" : "Sun Oct 02 18:00:00 +0000 2022",
      "full_text" : "RT @PrefectureTest: Storm warning for tonight",
      "lang" : "fr"
    }
  },
  {
    "tweet" : {
      "retweeted" : false,
      "entities" : { "user_mentions" : [ { "screen_name" : "citizen7", "id_str" : "777" } ], "urls" : [ ] },
      "display_text_range" : [ "10", "58" ],
      "in_reply_to_status_id_str" : "1500000000000000000",
      "in_reply_to_user_id_str" : "777",
      "in_reply_to_screen_name" : "citizen7",
      "id_str" : "1577000000000000002",
      "created_at" : "Sun Oct 02 12:00:00 +0000 2022",
      "full_text" : "@citizen7 Thanks, the streetlight will be repaired.",
      "lang" : "en"
    }
  },
  {
    "tweet" : {
      "retweeted" : false,
      "entities" : {
        "user_mentions" : [ { "screen_name" : "MairieAnnexe", "id_str" : "43" } ],
        "urls" : [ ],
        "media" : [ { "url" : "https://t.co/ViDeO00001", "expanded_url" : "https://twitter.com/VilleDeTest/status/1577000000000000001/video/1", "id_str" : "1577000000000009003", "media_url" : "http://pbs.twimg.com/ext_tw_video_thumb/1/pu/img/x.jpg", "type" : "photo" } ]
      },
      "extended_entities" : {
        "media" : [ { "url" : "https://t.co/ViDeO00001", "expanded_url" : "https://twitter.com/VilleDeTest/status/1577000000000000001/video/1", "id_str" : "1577000000000009003", "media_url" : "http://pbs.twimg.com/ext_tw_video_thumb/1/pu/img/x.jpg", "type" : "video" } ]
      },
      "display_text_range" : [ "0", "40" ],
      "in_reply_to_status_id_str" : "1577000000000000000",
      "in_reply_to_user_id_str" : "1234567890",
      "id_str" : "1577000000000000001",
      "created_at" : "Sat Oct 01 10:00:00 +0000 2022",
      "full_text" : "@MairieAnnexe opens late today. https://t.co/ViDeO00001",
      "lang" : "qme"
    }
  }
]
