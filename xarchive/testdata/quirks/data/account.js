window.YTD.account.part0 = [
  {
    "account" : {
      "email" : "communication@city.example",
      "createdVia" : "web",
      "username" : "VilleDeTest",
      "accountId" : "1234567890",
      "createdAt" : "2010-03-01T10:00:00.000Z",
      "accountDisplayName" : "Ville de Test"
    }
  }
]
