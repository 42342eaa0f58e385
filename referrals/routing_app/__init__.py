"""The routing engine inside the application: ``service`` (the current algorithm and its
versions, the working calendar, the time zone, decisions), ``api`` (``POST /api/v1/route``) and
``cli`` (``senim route``). The engine itself, ``referrals.routing``, stays pure: it imports
neither Flask nor the database, and everything here feeds it values."""
